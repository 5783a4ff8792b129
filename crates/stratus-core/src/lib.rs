//! The shared library of the stratus tools: everything the commands and the
//! Marketplace know about image metadata documents lives here, with no
//! command-line policy. The modules follow the flow:
//!
//! - [`document`]: bytes are read with a size limit, parsed safely, checked
//!   against the legacy rules and turned into a typed manifest;
//! - [`signature`]: the document's enveloped signature, the credentials that
//!   make it, and the trust that makes its signer someone;
//! - [`image`]: image bytes streamed through a decompressor into several
//!   digests at once, their disk format, and checks against metadata;
//! - [`site`]: the site side of the Marketplace: its client, the site
//!   policy, the verified download of images into a cache; and what a site
//!   does with an image: obtain it checked, boot it locally under QEMU with
//!   an OpenNebula-style context CD, describe it for libvirt or OpenNebula,
//!   and the kit that prepares images;
//!
//! with [`error`] (one error type, one exit code per failure), [`clock`]
//! ("now", pinned by `STRATUS_NOW`) and [`config`] (the user configuration)
//! shared by all.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod config;
pub mod document;
pub mod error;
pub mod image;
pub mod signature;
pub mod site;

pub use error::{Error, Invalid, Stage};
