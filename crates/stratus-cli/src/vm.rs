//! What `stratus-run-instance` and `stratus-create-image` share: the VM
//! options, obtaining the base image (one call into
//! [`stratus_core::site::obtain`]), booting a guest and waiting for it, and
//! describing a new image with `stratus-build-metadata`'s code.

use crate::commands::build_metadata::{self, BuildMetadata};
use crate::common::{CliError, Verbosity};
use crate::site_args::{clean, print_refusals, NetArgs, PolicyArgs};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;
use stratus_core::config::UserConfig;
use stratus_core::image::qemu;
use stratus_core::site::download::Event;
use stratus_core::site::instance::{self, Accel, Disk, DiskBus, Network, Spec};
use stratus_core::site::obtain::{self, LocalImage};
use stratus_core::site::remote::{parse_checksum, ImageUrls, SiteRemote};
use stratus_core::site::{Cache, Resolution, Site};
use stratus_core::Error;

/// The options of the VM a command boots.
#[derive(Debug, Clone, Args)]
pub struct VmArgs {
    /// Virtual CPUs
    #[arg(long = "cpu", value_name = "N", default_value_t = 1)]
    pub cpu: u32,
    /// Memory, in MiB
    #[arg(long = "ram", value_name = "MIB", default_value_t = 512)]
    pub ram: u32,
    /// Accelerator: kvm, tcg, or auto (KVM only when it actually runs the guest, else TCG)
    #[arg(long, value_name = "ACCEL", default_value = "auto")]
    pub accel: String,
    /// Disk bus: ide, scsi, virtio or nvme (default: the image's slterms:disks-bus, else ide)
    #[arg(long = "vm-disks-bus", value_name = "BUS")]
    pub vm_disks_bus: Option<String>,
    /// Take the base image as qcow2 whatever its metadata says
    #[arg(long)]
    pub qcow_disk_format: bool,
    /// Boot this kernel directly (with --initrd and --append)
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// The initrd of --kernel
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub initrd: Option<PathBuf>,
    /// The kernel command line of --kernel
    #[arg(long, value_name = "TEXT", requires = "kernel")]
    pub append: Option<String>,
    /// What the guest's network reaches: restricted (only the host forwards reach the guest),
    /// open (outbound access too), or none
    #[arg(long, value_name = "MODE", default_value = "restricted")]
    pub network: String,
}

impl VmArgs {
    /// The accelerator.
    pub fn accel(&self) -> Result<Accel, CliError> {
        Accel::from_name(&self.accel).ok_or_else(|| bad("--accel", &self.accel, "kvm, tcg or auto"))
    }

    /// The network mode.
    pub fn network(&self) -> Result<Network, CliError> {
        Network::from_name(&self.network)
            .ok_or_else(|| bad("--network", &self.network, "restricted, open or none"))
    }

    /// The disk bus: the option, else the image's metadata, else IDE.
    pub fn bus(&self, image: &LocalImage) -> Result<DiskBus, CliError> {
        let from_metadata = image
            .manifest
            .as_ref()
            .and_then(|m| m.terms.disks_bus.clone())
            .filter(|b| !b.is_empty());
        match self.vm_disks_bus.clone().or(from_metadata) {
            None => Ok(DiskBus::Ide),
            Some(name) => DiskBus::from_name(&name).ok_or_else(|| {
                CliError::Usage(format!(
                    "Unknown disks bus type {name}. Available types: ide, scsi, virtio, nvme"
                ))
            }),
        }
    }

    /// The disk bus of a new image: the option, else IDE.
    pub fn bus_or_default(&self) -> Result<DiskBus, CliError> {
        match &self.vm_disks_bus {
            None => Ok(DiskBus::Ide),
            Some(name) => DiskBus::from_name(name).ok_or_else(|| {
                CliError::Usage(format!(
                    "Unknown disks bus type {name}. Available types: ide, scsi, virtio, nvme"
                ))
            }),
        }
    }

    /// Check the values before anything is made.
    pub fn check(&self) -> Result<(), CliError> {
        self.accel()?;
        self.network()?;
        if let Some(bus) = &self.vm_disks_bus {
            if DiskBus::from_name(bus).is_none() {
                return Err(CliError::Usage(format!(
                    "Unknown disks bus type {bus}. Available types: ide, scsi, virtio, nvme"
                )));
            }
        }
        if self.cpu == 0 || self.cpu > 64 {
            return Err(bad("--cpu", &self.cpu.to_string(), "1 to 64"));
        }
        if self.ram < 16 || self.ram > 1 << 20 {
            return Err(bad("--ram", &self.ram.to_string(), "16 to 1048576 MiB"));
        }
        for (option, path) in [("--kernel", &self.kernel), ("--initrd", &self.initrd)] {
            if let Some(path) = path {
                if !path.is_file() {
                    return Err(bad(option, &path.display().to_string(), "an existing file"));
                }
            }
        }
        Ok(())
    }
}

/// The legacy options of both commands that have no meaning for a local
/// QEMU tool: accepted, so that legacy command lines still run, and
/// explained on stderr when given.
#[derive(Debug, Clone, Default, Args)]
pub struct LegacyArgs {
    /// Legacy: skip the image availability check. Ignored: the image is always verified
    /// against its metadata before anything starts
    #[arg(long)]
    pub no_check_image_url: bool,
    /// Legacy: the persistent disk service. Ignored: --persistent-disk takes a local disk file
    #[arg(long, value_name = "URL")]
    pub pdisk_endpoint: Option<String>,
    /// Legacy: the Marketplace of the new image. Ignored: the new image's draft goes to stdout,
    /// for stratus-sign-metadata | stratus-upload-metadata
    #[arg(long, value_name = "URL")]
    pub marketplace_endpoint_newimage: Option<String>,
    /// Legacy: the cloud front end. Ignored: the instance runs here under QEMU (--print
    /// opennebula describes it for a cloud)
    #[arg(long = "endpoint", value_name = "URL")]
    pub cloud_endpoint: Option<String>,
    /// Legacy: the cloud user name. Ignored, as --endpoint
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    pub cloud_username: Option<String>,
    /// Legacy: the cloud password. Ignored, as --endpoint (and visible to other local users in
    /// the process list: do not pass it)
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    pub cloud_password: Option<String>,
    /// Legacy: the cloud credential's certificate. Ignored, as --endpoint
    #[arg(long, value_name = "FILE")]
    pub pem_cert: Option<PathBuf>,
    /// Legacy: the cloud credential's key. Ignored, as --endpoint
    #[arg(long, value_name = "FILE")]
    pub pem_key: Option<PathBuf>,
    /// Legacy: the cloud's instance type (m1.small, ...). Ignored: give --cpu and --ram
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub instance_type: Option<String>,
}

impl LegacyArgs {
    /// Warn about each legacy option given, saying why it has no effect.
    pub fn explain(&self, verbosity: Verbosity) {
        if self.no_check_image_url {
            verbosity.warn(
                "--no-check-image-url is ignored: the image is always verified against its metadata",
            );
        }
        if self.pdisk_endpoint.is_some() {
            verbosity.warn(
                "--pdisk-endpoint is ignored: there is no persistent disk service; --persistent-disk takes a disk file",
            );
        }
        let cloud = [
            (self.cloud_endpoint.is_some(), "--endpoint"),
            (self.cloud_username.is_some(), "--username"),
            (self.cloud_password.is_some(), "--password"),
            (self.pem_cert.is_some(), "--pem-cert"),
            (self.pem_key.is_some(), "--pem-key"),
        ];
        for (_, option) in cloud.iter().filter(|(given, _)| *given) {
            verbosity.warn(format!(
                "{option} is ignored: there is no cloud front end, the VM runs here under QEMU \
                 (--print opennebula describes it for one)"
            ));
        }
        if let Some(kind) = &self.instance_type {
            verbosity.warn(format!(
                "--type {} is ignored: give --cpu and --ram",
                crate::site_args::clean(kind)
            ));
        }
        if self.marketplace_endpoint_newimage.is_some() {
            verbosity.warn(
                "--marketplace-endpoint-newimage is ignored: pipe the draft on stdout to stratus-sign-metadata | stratus-upload-metadata",
            );
        }
    }
}

/// A usage error for a bad option value.
pub fn bad(option: &str, value: &str, expected: &str) -> CliError {
    CliError::from(Error::BadValue {
        option: option.into(),
        value: value.into(),
        expected: expected.into(),
    })
}

/// `path`, given with `option`, must be an existing file (`what` says which
/// kind in the message); its name is escaped in the message.
pub fn require_file(option: &str, path: &Path, what: &str) -> Result<(), CliError> {
    match path.is_file() {
        true => Ok(()),
        false => Err(bad(option, &crate::common::escaped_name(path), what)),
    }
}

/// `path`, given with `option`, must be an existing directory.
pub fn require_dir(option: &str, path: &Path) -> Result<(), CliError> {
    match path.is_dir() {
        true => Ok(()),
        false => Err(bad(
            option,
            &crate::common::escaped_name(path),
            "an existing directory",
        )),
    }
}

/// The metadata options of a new image, passed to `stratus-build-metadata`.
#[derive(Debug, Clone, Args)]
pub struct DraftArgs {
    /// Author of the new image (dcterms:creator)
    #[arg(long, value_name = "NAME", default_value = "")]
    pub author: String,
    /// Author's e-mail (the endorser, when the certificate carries none)
    #[arg(long, value_name = "EMAIL")]
    pub author_email: Option<String>,
    /// Title of the new image
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub title: String,
    /// Description of the new image
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
    /// Version of the new image (slterms:version)
    #[arg(long, value_name = "VERSION", default_value = "")]
    pub image_version: String,
    /// Operating system of the new image (default: the base image's)
    #[arg(long, value_name = "NAME")]
    pub os: Option<String>,
    /// Operating system version (default: the base image's)
    #[arg(long, value_name = "VERSION")]
    pub os_version: Option<String>,
    /// Operating system architecture (default: the base image's)
    #[arg(long, value_name = "ARCH")]
    pub os_arch: Option<String>,
    /// Download location of the new image (repeatable)
    #[arg(long = "location", value_name = "URI")]
    pub locations: Vec<String>,
    /// Marketplace tag (dcterms:alternative)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub tag: String,
}

/// The draft document of the new image at `image`, in `format`, with the
/// base image's OS terms unless the options give others.
pub fn draft(
    image: &Path,
    format: &str,
    bus: DiskBus,
    args: &DraftArgs,
    base: Option<&LocalImage>,
    verbosity: Verbosity,
) -> Result<String, CliError> {
    let terms = base.and_then(|b| b.manifest.as_ref()).map(|m| &m.terms);
    let inherit = |given: &Option<String>, from: Option<&Option<String>>| {
        given
            .clone()
            .or_else(|| from.and_then(|v| v.clone()))
            .unwrap_or_default()
    };
    // A quiet draft: the caller says what it made.
    let quiet = Verbosity {
        verbose: verbosity.verbose,
        quiet: verbosity.quiet.max(u8::from(args.locations.is_empty())),
    };
    let build = BuildMetadata {
        image: Some(image.to_path_buf()),
        author: args.author.clone(),
        image_type: "base".into(),
        kind: "machine".into(),
        os: inherit(&args.os, terms.map(|t| &t.os)),
        os_version: inherit(&args.os_version, terms.map(|t| &t.os_version)),
        os_arch: inherit(&args.os_arch, terms.map(|t| &t.os_arch)),
        image_version: args.image_version.clone(),
        format: Some(format.to_string()),
        hypervisor: "kvm".into(),
        locations: args.locations.clone(),
        compression: None,
        title: args.title.clone(),
        tag: args.tag.clone(),
        comment: args.comment.clone(),
        disks_bus: match bus {
            // Not a legacy value: the document keeps to the legacy ones.
            DiskBus::Nvme => "virtio".into(),
            other => other.name().into(),
        },
        md5: None,
        sha1: None,
        sha256: None,
        sha512: None,
        no_md5: false,
        no_sha256: false,
        no_sha512: false,
        valid_days: None,
        valid: None,
        email: args.author_email.clone(),
        output: None,
        legacy_output: false,
        verbosity: quiet,
    };
    build_metadata::draft(&build)
}

/// Where the base image may come from besides local files: the site
/// policy and trust (one set of trust options for documents and
/// Marketplace entries), the Marketplace and the network, the cache.
#[derive(Debug, Clone, Default, Args)]
pub struct SiteArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,
    /// Keep verified images from the Marketplace in DIR (by SHA-512, else SHA-1) and use them
    /// from it, verified again [default: a private copy for this run]
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Accept an image URL (which has no signed metadata) if the image has this checksum:
    /// sha256:HEX or sha512:HEX (repeatable: all must match)
    #[arg(long = "checksum", value_name = "ALGO:HEX")]
    pub checksums: Vec<String>,
    /// Accept an image URL without any check of what it serves (a warning says so): anyone who
    /// can change what the URL serves chooses what boots
    #[arg(long, conflicts_with = "checksums")]
    pub unverified_image_url: bool,
}

impl SiteArgs {
    /// What may be done with an image URL; `url_input` says whether the
    /// image argument is one (the options only apply to image URLs).
    fn image_urls(&self, url_input: bool, verbosity: Verbosity) -> Result<ImageUrls, CliError> {
        if !url_input {
            if let Some(option) = (!self.checksums.is_empty()).then_some("--checksum").or(self
                .unverified_image_url
                .then_some("--unverified-image-url"))
            {
                return Err(CliError::Usage(format!(
                    "{option} applies to an image URL only: an identifier, a metadata URL or \
                     file is verified against its metadata, a local file is the user's own"
                )));
            }
            return Ok(ImageUrls::Refused);
        }
        if self.unverified_image_url {
            verbosity.warn(
                "--unverified-image-url: the image is NOT verified; whoever controls what its URL \
                 serves (or the network, over http) chooses what boots",
            );
            return Ok(ImageUrls::Unverified);
        }
        if self.checksums.is_empty() {
            return Ok(ImageUrls::Refused);
        }
        let mut digests = Vec::new();
        for text in &self.checksums {
            digests.push(parse_checksum(text).map_err(Error::from)?);
        }
        Ok(ImageUrls::Pinned(digests))
    }
}

/// Obtain the base image `argument` names (see
/// [`stratus_core::site::obtain`]): local files checked here, identifiers,
/// entry keys and URLs through the site code (policy, download,
/// verification, cache); tells the user what was checked.
pub fn obtain(
    argument: &str,
    site_args: &SiteArgs,
    work_dir: &Path,
    force_qcow2: bool,
    verbosity: Verbosity,
) -> Result<LocalImage, CliError> {
    let input = obtain::classify(argument)?;
    let image_urls =
        site_args.image_urls(matches!(input, obtain::ImageInput::ImageUrl(_)), verbosity)?;
    let (policy, trust, allow) = site_args.policy.load(false, &verbosity)?;
    // The Marketplace client only when the input may need it: a local
    // image file needs no endpoint.
    let (site, local_trust) = match input {
        obtain::ImageInput::ImageFile(_) => (None, Some(trust)),
        _ => {
            let config =
                UserConfig::load(None, None).map_err(|e| CliError::Core(Error::Config(e)))?;
            let site = Site {
                marketplace: site_args.net.marketplace(&config)?,
                policy,
                trust,
                allow,
            };
            (Some(site), None)
        }
    };
    let trust = match (&site, &local_trust) {
        (Some(site), _) => &site.trust,
        (None, Some(trust)) => trust,
        (None, None) => unreachable!("the trust options are kept in one of them"),
    };
    let on_resolution = |resolution: &Resolution| {
        if resolution.accepted().is_err() {
            print_refusals(resolution);
        }
    };
    let on_event = |event: &Event| match event {
        Event::Trying(url) => verbosity.debug(format!("trying {}", clean(url))),
        Event::Failed(attempt) => verbosity.warn(format!(
            "{}: {}",
            clean(&attempt.url),
            clean(&attempt.detail)
        )),
        Event::CacheStale(path, why) => verbosity.warn(format!(
            "{}: removed from the cache: {}",
            path.display(),
            clean(why)
        )),
        _ => {}
    };
    let remote = site.as_ref().map(|site| SiteRemote {
        site,
        cache: site_args.cache.as_ref().map(Cache::new),
        work_dir: work_dir.join("download"),
        on_resolution: &on_resolution,
        on_event: &on_event,
        image_urls: image_urls.clone(),
    });
    let options = obtain::Options {
        trust,
        work_dir,
        force_qcow2,
        remote: remote.as_ref().map(|r| r as &dyn obtain::Remote),
    };
    let image = obtain::obtain_image(&input, &options)?;
    for warning in &image.warnings {
        verbosity.warn(warning);
    }
    verbosity.debug(format!(
        "base image: {} ({})",
        image.path.display(),
        clean(&image.provenance)
    ));
    Ok(image)
}

/// The `--persistent-disk` files as writable disks on `bus`: by their
/// canonical path, in their detected format.
pub fn persistent_disks(paths: &[PathBuf], bus: DiskBus) -> Result<Vec<Disk>, CliError> {
    paths
        .iter()
        .map(|path| {
            Ok(Disk {
                path: std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?,
                format: qemu::detect_format(path)?,
                bus,
                readonly: false,
            })
        })
        .collect()
}

/// Start `spec` (see [`instance::start`]), warnings on stderr.
pub fn boot(
    spec: &Spec,
    accel: Accel,
    dir: &Path,
    prepare: &mut dyn FnMut() -> stratus_core::error::Result<()>,
    verbosity: Verbosity,
) -> Result<(u32, Accel), CliError> {
    let mut warn = |message: String| verbosity.warn(message);
    Ok(instance::start(spec, accel, dir, prepare, &mut warn)?)
}

/// Wait for the guest `pid` to power off, at most `timeout` seconds; stop
/// it and fail after that.
pub fn wait_for_power_off(pid: u32, dir: &Path, timeout: u64, what: &str) -> Result<(), CliError> {
    if instance::wait_gone(pid, Duration::from_secs(timeout)) {
        return Ok(());
    }
    instance::stop_pid(pid, dir);
    Err(CliError::Core(Error::Tool {
        tool: "qemu-system-x86_64",
        message: format!("{what} did not power off within {timeout} s: stopped"),
    }))
}

/// Run an external tool; its stderr in the error when it fails.
pub fn run_tool(
    command: &mut std::process::Command,
    tool: &'static str,
    what: &str,
) -> Result<(), CliError> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Tool {
            tool,
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("{tool} was not found: {what}")
            } else {
                format!("could not run {tool}: {e}")
            },
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(CliError::Core(Error::Tool {
        tool,
        message: format!(
            "{what}: {}",
            tail(&String::from_utf8_lossy(&output.stderr), 5)
        ),
    }))
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The space the files under `dir` take, in MiB (rounded up; links and
/// special files count as one block).
pub fn tree_mib(dir: &Path) -> u64 {
    fn walk(dir: &Path, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            *total += meta.len().max(4096).div_ceil(4096) * 4096;
            if meta.is_dir() {
                walk(&entry.path(), total);
            }
        }
    }
    let mut total = 0;
    walk(dir, &mut total);
    total.div_ceil(1 << 20)
}
