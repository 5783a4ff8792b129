//! The image metadata document ("manifest"): a typed model, its reader and
//! writer, and the legacy validation rules.

pub mod rules;
