//! `stratus-build-metadata`: describe a disk image in a new (unsigned)
//! metadata document.
//!
//! One streaming pass over the image computes its decompressed size and its
//! digests; the disk format comes from `qemu-img info` (or the decompressed
//! header for a compressed image or standard input). The document goes to
//! stdout, so it pipes into `stratus-sign-metadata`.

use crate::common::{write_output, CliError, Verbosity, EXIT_CODES_HELP};
use clap::Parser;
use std::io::Read;
use std::path::{Path, PathBuf};
use stratus_core::document::identifier;
use stratus_core::document::manifest::{write, Checksum, Endorsement, Endorser, Manifest, Terms};
use stratus_core::image::compress::{self, Compression};
use stratus_core::image::digest::{self, Algorithm, StreamInfo};
use stratus_core::image::qemu;
use stratus_core::{clock, Error};

/// The default validity, in days. The legacy tool meant half a year but
/// wrote 178 days; see docs/COMPATIBILITY.md.
const DEFAULT_VALID_DAYS: u32 = 365;

/// Images at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: u64 = 64 * 1024 * 1024;

const DISKS_BUSES: [&str; 3] = ["ide", "scsi", "virtio"];

/// Construct a new metadata description of a machine or disk image.
///
/// The image argument is the machine or disk image file to describe (`-` for
/// standard input). Size and checksums are those of the decompressed content;
/// gzip, bzip2 and xz images are recognised by their first bytes.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-build-metadata",
    version,
    infer_long_args = true,
    after_help = EXIT_CODES_HELP,
    after_long_help = format!("Example:\n  stratus-build-metadata --os ubuntu img.gz > img.xml\n\n\
        Environment:\n  STRATUS_NOW       pins the current time (2026-01-15T10:20:30Z)\n  \
        STRATUS_QEMU_IMG  the qemu-img program to run\n\n{EXIT_CODES_HELP}")
)]
pub struct BuildMetadata {
    /// The image file to describe (`-`: standard input)
    #[arg(value_name = "IMAGE")]
    pub image: Option<PathBuf>,

    /// Image author (dcterms:creator)
    #[arg(long, value_name = "NAME", default_value = "")]
    pub author: String,
    /// Image type (e.g. base, grid)
    #[arg(long = "type", value_name = "NAME", default_value = "base")]
    pub image_type: String,
    /// Image kind (e.g. machine, disk)
    #[arg(long, value_name = "NAME", default_value = "machine")]
    pub kind: String,
    /// Operating system (slterms:os)
    #[arg(long, value_name = "NAME", default_value = "")]
    pub os: String,
    /// Operating system version
    #[arg(long, value_name = "VERSION", default_value = "")]
    pub os_version: String,
    /// Operating system architecture (e.g. x86_64)
    #[arg(long, value_name = "ARCH", default_value = "")]
    pub os_arch: String,
    /// Image version (slterms:version)
    #[arg(long, value_name = "VERSION", default_value = "")]
    pub image_version: String,
    /// Disk format (e.g. raw, qcow2); detected with qemu-img when not given
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Hypervisor the image suits
    #[arg(long, value_name = "NAME", default_value = "kvm")]
    pub hypervisor: String,
    /// Download location of the image (repeatable; every value is kept, in order)
    #[arg(long = "location", value_name = "URI")]
    pub locations: Vec<String>,
    /// Compression of the published image: gz, bz2, xz or none (default: what the image's first bytes show)
    #[arg(long, value_name = "EXT")]
    pub compression: Option<String>,
    /// Short title
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub title: String,
    /// Marketplace tag (dcterms:alternative)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub tag: String,
    /// Description (dcterms:description)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
    /// Disk bus: ide, scsi or virtio
    #[arg(long, value_name = "TYPE", default_value = "ide")]
    pub disks_bus: String,
    /// Use this MD5 instead of computing it
    #[arg(long, value_name = "HEX", conflicts_with = "no_md5")]
    pub md5: Option<String>,
    /// Use this SHA-1 instead of computing it
    #[arg(long, value_name = "HEX")]
    pub sha1: Option<String>,
    /// Use this SHA-256 instead of computing it
    #[arg(long, value_name = "HEX", conflicts_with = "no_sha256")]
    pub sha256: Option<String>,
    /// Use this SHA-512 instead of computing it
    #[arg(long, value_name = "HEX", conflicts_with = "no_sha512")]
    pub sha512: Option<String>,
    /// Do not compute or write the MD5 checksum
    #[arg(long)]
    pub no_md5: bool,
    /// Do not compute or write the SHA-256 checksum
    #[arg(long)]
    pub no_sha256: bool,
    /// Do not compute or write the SHA-512 checksum
    #[arg(long)]
    pub no_sha512: bool,
    /// Days the metadata stays valid (dcterms:valid) [default: 365]
    #[arg(long, value_name = "N", conflicts_with = "valid")]
    pub valid_days: Option<u32>,
    /// Date the metadata expires: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ
    #[arg(long, value_name = "DATE")]
    pub valid: Option<String>,
    /// Endorser e-mail, for the signer when the certificate carries none
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Write the document to FILE (atomically) instead of standard output
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        conflicts_with = "legacy_output"
    )]
    pub output: Option<PathBuf>,
    /// Write to the legacy file name <os>-<osversion>-<arch>-<type>-<version>.xml
    #[arg(long)]
    pub legacy_output: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// Run `stratus-build-metadata`.
pub fn run(args: BuildMetadata) -> Result<i32, CliError> {
    let text = draft(&args)?;
    let output = if args.legacy_output {
        Some(PathBuf::from(legacy_file_name(&args)))
    } else {
        args.output.clone()
    };
    write_output(output.as_deref(), text.as_bytes())?;
    if let Some(path) = &output {
        args.verbosity
            .debug(format!("Manifest: {}", path.display()));
    }
    Ok(0)
}

/// The draft document `args` describe, as text: what `run` writes. The
/// commands that make images (`stratus-create-image`, `stratus-run-instance
/// --save`) describe them with it.
pub fn draft(args: &BuildMetadata) -> Result<String, CliError> {
    let image = args
        .image
        .clone()
        .ok_or_else(|| CliError::Usage("Please specify an image".into()))?;
    let source = ImageSource::of(&image)?;
    check_text_options(args)?;
    let given = GivenChecksums::from_args(args)?;
    check_choice("--disks-bus", &args.disks_bus, &DISKS_BUSES)?;
    let compression_override = parse_compression(args.compression.as_deref())?;
    if let Some(email) = &args.email {
        check_email(email)?;
    }
    let now = clock::now();
    let valid = valid_until(args, now)?;
    if valid <= now {
        args.verbosity.warn(format!(
            "the metadata expires at {}, which is not in the future",
            clock::format_utc(valid)
        ));
    }
    if args.locations.is_empty() {
        args.verbosity.warn("Image physical location (URL) was not provided. You'll have to set it manually in the resulting manifest.");
    }

    // For a plain file qemu-img runs first: a missing qemu-img or an
    // unreadable image is reported before minutes of hashing.
    let probed = match (&args.format, source) {
        (None, ImageSource::File) if !source_is_compressed(&image)? => {
            Some(qemu::detect_format(&image)?)
        }
        _ => None,
    };
    let scan = scan_image(&image, source, &given.to_compute(), args)?;
    if scan.compression == Compression::None {
        if let Some(name) = qemu::unsupported_compression(&scan.header) {
            return Err(unreadable_compression(&image, name));
        }
    }
    let format = args
        .format
        .clone()
        .or(probed)
        .unwrap_or_else(|| qemu::format_from_header(&scan.header).to_string());
    let compression = compression_override.unwrap_or(scan.compression);
    let manifest = build_manifest(args, &given, &scan.info, compression, format, now, valid)?;
    Ok(write::to_string(&manifest))
}

/// Checksums given on the command line, and which to leave out.
struct GivenChecksums {
    values: Vec<(Algorithm, Option<String>, bool)>,
}

impl GivenChecksums {
    fn from_args(args: &BuildMetadata) -> Result<Self, CliError> {
        let entries = [
            (Algorithm::Md5, "--md5", &args.md5, args.no_md5),
            (Algorithm::Sha1, "--sha1", &args.sha1, false),
            (Algorithm::Sha256, "--sha256", &args.sha256, args.no_sha256),
            (Algorithm::Sha512, "--sha512", &args.sha512, args.no_sha512),
        ];
        let mut values = Vec::new();
        for (algorithm, option, value, suppressed) in entries {
            if let Some(hex) = value {
                check_hex(option, hex, algorithm.hex_len())?;
            }
            values.push((
                algorithm,
                value.as_ref().map(|v| v.to_ascii_lowercase()),
                suppressed,
            ));
        }
        Ok(GivenChecksums { values })
    }

    /// The algorithms the image pass must compute.
    fn to_compute(&self) -> Vec<Algorithm> {
        self.values
            .iter()
            .filter(|(_, given, suppressed)| given.is_none() && !suppressed)
            .map(|(algorithm, _, _)| *algorithm)
            .collect()
    }

    /// The checksums to write, in the legacy order, given or computed.
    fn resolve(&self, info: &StreamInfo) -> Vec<Checksum> {
        self.values
            .iter()
            .filter(|(_, _, suppressed)| !suppressed)
            .filter_map(|(algorithm, given, _)| {
                let value = given
                    .clone()
                    .or_else(|| info.hex(*algorithm).map(str::to_string))?;
                Some(Checksum {
                    algorithm: algorithm.legacy_name().to_string(),
                    value,
                })
            })
            .collect()
    }
}

/// Text options become element content: refuse characters XML 1.0 cannot
/// carry (control characters other than tab, newline and carriage return).
fn check_text_options(args: &BuildMetadata) -> Result<(), CliError> {
    let mut texts: Vec<(&str, &str)> = vec![
        ("--author", &args.author),
        ("--type", &args.image_type),
        ("--kind", &args.kind),
        ("--os", &args.os),
        ("--os-version", &args.os_version),
        ("--os-arch", &args.os_arch),
        ("--image-version", &args.image_version),
        ("--hypervisor", &args.hypervisor),
        ("--title", &args.title),
        ("--tag", &args.tag),
        ("--comment", &args.comment),
    ];
    texts.extend(args.format.as_deref().map(|f| ("--format", f)));
    texts.extend(args.locations.iter().map(|l| ("--location", l.as_str())));
    for (option, value) in texts {
        if let Some(bad) = value
            .chars()
            .find(|c| !stratus_core::document::xml::is_xml_char(*c))
        {
            return Err(Error::BadValue {
                option: option.into(),
                value: value.escape_debug().to_string(),
                expected: format!(
                    "text without control characters (found U+{:04X})",
                    u32::from(bad)
                ),
            }
            .into());
        }
    }
    Ok(())
}

fn check_hex(option: &str, value: &str, length: usize) -> Result<(), CliError> {
    if value.len() == length && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    Err(Error::BadValue {
        option: option.into(),
        value: value.into(),
        expected: format!("{length} hexadecimal digits"),
    }
    .into())
}

fn check_choice(option: &str, value: &str, choices: &[&str]) -> Result<(), CliError> {
    if choices.contains(&value) {
        return Ok(());
    }
    if option == "--disks-bus" {
        return Err(CliError::Usage(format!(
            "Unknown disks bus type {value}. Available types: {}",
            choices.join(", ")
        )));
    }
    Err(Error::BadValue {
        option: option.into(),
        value: value.into(),
        expected: format!("one of {}", choices.join(", ")),
    }
    .into())
}

fn parse_compression(value: Option<&str>) -> Result<Option<Compression>, CliError> {
    match value {
        None => Ok(None),
        Some(name) => Compression::from_name(name).map(Some).ok_or_else(|| {
            Error::BadValue {
                option: "--compression".into(),
                value: name.into(),
                expected: "gz, bz2, xz or none".into(),
            }
            .into()
        }),
    }
}

/// The e-mail rule of the metadata schema.
fn check_email(email: &str) -> Result<(), CliError> {
    if stratus_core::document::manifest::rules::is_email(email) {
        return Ok(());
    }
    Err(Error::BadValue {
        option: "--email".into(),
        value: email.into(),
        expected: "an e-mail address such as jane@example.org".into(),
    }
    .into())
}

fn valid_until(args: &BuildMetadata, now: clock::Timestamp) -> Result<clock::Timestamp, CliError> {
    if let Some(date) = &args.valid {
        return clock::parse_date_or_time(date).ok_or_else(|| {
            Error::BadValue {
                option: "--valid".into(),
                value: date.clone(),
                expected: "a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SSZ".into(),
            }
            .into()
        });
    }
    let days = args.valid_days.unwrap_or(DEFAULT_VALID_DAYS);
    let valid = now + i64::from(days) * 86_400;
    // The metadata date form has four-digit years.
    if clock::format_utc(valid).len() != 20 {
        return Err(Error::BadValue {
            option: "--valid-days".into(),
            value: days.to_string(),
            expected: "a number of days ending before the year 10000".into(),
        }
        .into());
    }
    Ok(valid)
}

/// Where the image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageSource {
    /// `-`: standard input.
    Stdin,
    /// A regular file: its size is known and qemu-img can probe it.
    File,
    /// A pipe, FIFO or device: read as a stream, the format from its header.
    Stream,
}

impl ImageSource {
    fn of(image: &Path) -> Result<Self, CliError> {
        if image.as_os_str() == "-" {
            return Ok(ImageSource::Stdin);
        }
        let metadata = std::fs::metadata(image)
            .map_err(|_| CliError::Usage(format!("Image does not exist: {}", image.display())))?;
        if metadata.is_dir() {
            return Err(CliError::Usage(format!(
                "Image is a directory, not a file: {}",
                image.display()
            )));
        }
        Ok(if metadata.is_file() {
            ImageSource::File
        } else {
            ImageSource::Stream
        })
    }
}

/// Whether a file starts with the magic bytes of a compression format.
fn source_is_compressed(image: &Path) -> Result<bool, CliError> {
    let mut header = Vec::with_capacity(qemu::HEADER_BYTES);
    std::fs::File::open(image)
        .and_then(|f| f.take(qemu::HEADER_BYTES as u64).read_to_end(&mut header))
        .map_err(|e| Error::io(image, e))?;
    if let Some(name) = qemu::unsupported_compression(&header) {
        return Err(unreadable_compression(image, name));
    }
    Ok(Compression::detect(&header) != Compression::None)
}

fn unreadable_compression(image: &Path, name: &str) -> CliError {
    Error::BadValue {
        option: "IMAGE".into(),
        value: image.display().to_string(),
        expected: format!(
            "a raw image or one compressed with gzip, bzip2 or xz (this one is {name}-compressed: decompress it first)"
        ),
    }
    .into()
}

/// What one pass over the image found.
struct ImageScan {
    compression: Compression,
    info: StreamInfo,
    /// The first bytes of the decompressed content.
    header: Vec<u8>,
}

fn scan_image(
    image: &Path,
    source: ImageSource,
    algorithms: &[Algorithm],
    args: &BuildMetadata,
) -> Result<ImageScan, CliError> {
    let from_stdin = source == ImageSource::Stdin;
    let (compression, reader) = if from_stdin {
        let stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin());
        compress::open_reader(stdin).map_err(|e| Error::io("standard input", e))?
    } else {
        compress::open(image)?
    };
    // The bar measures decompressed bytes, so its length is the file size
    // only for an uncompressed regular file; otherwise it counts bytes.
    let size = match (source, compression) {
        (ImageSource::File, Compression::None) => std::fs::metadata(image).map(|m| m.len()).ok(),
        _ => None,
    };
    let mut capture = HeaderCapture::new(reader);
    let mut progress = Progress::new(size, &args.verbosity);
    let name: &Path = if from_stdin {
        Path::new("standard input")
    } else {
        image
    };
    let info = digest::stream_info(&mut capture, algorithms, &mut |n| progress.update(n))
        .map_err(|e| compress::read_error(name, compression, e))?;
    progress.finish();
    Ok(ImageScan {
        compression,
        info,
        header: capture.header,
    })
}

/// A reader that keeps a copy of the first bytes that pass through it.
struct HeaderCapture<R> {
    inner: R,
    header: Vec<u8>,
}

impl<R: Read> HeaderCapture<R> {
    fn new(inner: R) -> Self {
        HeaderCapture {
            inner,
            header: Vec::with_capacity(qemu::HEADER_BYTES),
        }
    }
}

impl<R: Read> Read for HeaderCapture<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = qemu::HEADER_BYTES - self.header.len();
        self.header.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

/// A progress bar on stderr for large images, only when stderr is a
/// terminal and not with `-q`.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(size: Option<u64>, verbosity: &Verbosity) -> Self {
        use std::io::IsTerminal;
        let show = verbosity.warnings()
            && std::io::stderr().is_terminal()
            && size.is_none_or(|s| s >= PROGRESS_THRESHOLD);
        if !show {
            return Progress(None);
        }
        let bar = match size {
            Some(size) => indicatif::ProgressBar::new(size),
            None => indicatif::ProgressBar::no_length(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress(Some(bar))
    }

    /// `read` counts decompressed bytes.
    fn update(&mut self, read: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(read);
        }
    }

    fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

fn build_manifest(
    args: &BuildMetadata,
    given: &GivenChecksums,
    info: &StreamInfo,
    compression: Compression,
    format: String,
    now: clock::Timestamp,
    valid: clock::Timestamp,
) -> Result<Manifest, CliError> {
    let checksums = given.resolve(info);
    let sha1 = checksums
        .iter()
        .find(|c| c.algorithm == Algorithm::Sha1.legacy_name())
        .map(|c| c.value.as_str())
        .unwrap_or_default();
    let identifier = identifier::from_sha1_hex(sha1).map_err(|_| Error::BadValue {
        option: "--sha1".into(),
        value: sha1.into(),
        expected: "a SHA-1 in hexadecimal".into(),
    })?;
    let text = |value: &str| Some(value.to_string());
    let terms = Terms {
        image_type: text(&args.image_type),
        kind: text(&args.kind),
        os: text(&args.os),
        os_version: text(&args.os_version),
        os_arch: text(&args.os_arch),
        version: text(&args.image_version),
        compression: text(compression.name()),
        locations: args.locations.clone(),
        format: Some(format),
        creator: text(&args.author),
        created: Some(clock::format_utc(now)),
        valid: Some(clock::format_utc(valid)),
        title: text(&args.title),
        alternative: text(&args.tag),
        description: text(&args.comment),
        hypervisor: text(&args.hypervisor),
        disks_bus: text(&args.disks_bus),
        publisher: text("StratusLab"),
        ..Terms::default()
    };
    let endorsement = args.email.as_ref().map(|email| Endorsement {
        created: None,
        endorser: Some(Endorser {
            email: Some(email.clone()),
            ..Endorser::default()
        }),
    });
    Ok(Manifest {
        identifier,
        bytes: info.bytes,
        checksums,
        endorsement,
        terms,
        ..Manifest::default()
    })
}

/// `<os>-<osversion>-<arch>-<type>-<version>.xml`, as the legacy tool named
/// its output.
fn legacy_file_name(args: &BuildMetadata) -> String {
    format!(
        "{}-{}-{}-{}-{}.xml",
        args.os, args.os_version, args.os_arch, args.image_type, args.image_version
    )
}
