//! The image metadata document ("manifest"): a typed model, its reader and
//! writer, and the legacy validation rules.

pub mod model;
pub mod read;
pub mod rules;
pub mod write;

pub use model::{Attribute, Checksum, Element, Endorsement, Endorser, Manifest, Node, Terms};
