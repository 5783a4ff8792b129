//! The shared library of the stratus tools: everything the commands know about
//! image metadata documents lives here, with no command-line policy.
//!
//! Data flows one way: bytes are read with a size limit ([`input`]), parsed
//! safely ([`xml`]), checked against the legacy rules ([`manifest::rules`]) and
//! turned into a typed [`manifest::Manifest`]; images are streamed through a
//! decompressor ([`compress`]) into several digests at once ([`digest`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod compress;
pub mod config;
pub mod credentials;
pub mod digest;
pub mod dn;
pub mod email;
pub mod error;
pub mod identifier;
pub mod image;
pub mod input;
pub mod keys;
pub mod manifest;
pub mod namespaces;
pub mod pbe;
pub mod trust;
pub mod validate;
pub mod xml;
pub mod xmldsig;

pub use error::{Error, Invalid, Stage};
