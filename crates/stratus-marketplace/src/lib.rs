//! The stratus Marketplace server: a registry of signed image metadata
//! documents with the HTTP API of the legacy StratusLab Marketplace
//! (marketplace.md), on an embedded store.
//!
//! Data flows one way: an upload's bytes are checked by the same
//! stratus-core pipeline the commands run ([`document`]), become an
//! [`entry::Entry`] and are committed to a [`store::Store`]; the routes of
//! [`http`] answer from the store.
//!
//! - [`config`]: `marketplace.cfg`, environment overrides, flags.
//! - [`document`]: everything the server asks of stratus-core.
//! - [`entry`]: keys and indexed fields.
//! - [`store`]: the `Store` trait, the SQLite backend, the legacy layouts.
//! - [`http`]: routes, negotiation, error bodies, the server loop.
//! - [`pages`]: the HTML pages people browse (server-rendered templates).
//! - [`mail`]: the confirmation, abuse and reminder mails (SMTP).
//! - [`whitelist`]: the endorser whitelist that skips confirmation.
//! - [`sparql`]: the SPARQL endpoint's graph and its limits.
//! - [`reminders`]: the scheduled jobs (reminders, expiry warnings,
//!   expired pending uploads).
//! - [`feed`]: the change feed's format (`GET /changes`).
//! - [`follow`]: following other Marketplaces' feeds (`serve --follow`).
//! - [`cli`]: the `stratus-marketplace` command.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod document;
pub mod entry;
pub mod feed;
pub mod follow;
pub mod http;
pub mod mail;
pub mod pages;
pub mod reminders;
pub mod sparql;
pub mod store;
pub mod whitelist;
