//! One module per command: its clap definition and its `run`.

pub mod build_metadata;
pub mod create_image;
pub mod deprecate_metadata;
pub mod describe_instance;
pub mod download_image;
pub mod kill_instance;
pub mod list_images;
pub mod manifest;
pub mod policy_image;
pub mod run_instance;
pub mod search_image;
pub mod show_image;
pub mod sign_metadata;
pub mod upload_image;
pub mod upload_metadata;
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
        upload_metadata::UploadMetadata::command(),
        deprecate_metadata::DeprecateMetadata::command(),
        upload_image::UploadImage::command(),
        search_image::SearchImage::command(),
        show_image::ShowImage::command(),
        list_images::ListImages::command(),
        manifest::ManifestCommand::command(),
        policy_image::PolicyImage::command(),
        download_image::DownloadImage::command(),
    ]
}
