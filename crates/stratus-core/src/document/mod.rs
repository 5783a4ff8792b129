//! The metadata document: reading its bytes with a size limit ([`input`]),
//! parsing them safely and canonically ([`xml`]), the typed model with its
//! reader, writer and legacy rules ([`manifest`]), the image identifier
//! ([`identifier`]), and the whole validation pipeline ([`validate`]).

pub mod identifier;
pub mod input;
pub mod manifest;
pub mod validate;
pub mod xml;
