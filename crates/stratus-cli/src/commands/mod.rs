//! One module per command: its clap definition and its `run`.

pub mod build_metadata;
pub mod sign_metadata;
pub mod validate_metadata;

/// Every command's clap definition, for man pages and completions.
pub fn all() -> Vec<clap::Command> {
    use clap::CommandFactory;
    vec![
        build_metadata::BuildMetadata::command(),
        sign_metadata::SignMetadata::command(),
        validate_metadata::ValidateMetadata::command(),
    ]
}
