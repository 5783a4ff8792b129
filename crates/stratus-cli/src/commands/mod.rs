//! One module per command: its clap definition and its `run`.

pub mod build_metadata;
pub mod create_image;
pub mod describe_instance;
pub mod kill_instance;
pub mod run_instance;
pub mod sign_metadata;
pub mod validate_metadata;

/// Every command's clap definition, for man pages and completions.
pub fn all() -> Vec<clap::Command> {
    use clap::CommandFactory;
    vec![
        build_metadata::BuildMetadata::command(),
        create_image::CreateImage::command(),
        describe_instance::DescribeInstance::command(),
        kill_instance::KillInstance::command(),
        run_instance::RunInstance::command(),
        sign_metadata::SignMetadata::command(),
        validate_metadata::ValidateMetadata::command(),
    ]
}
