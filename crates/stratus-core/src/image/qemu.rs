//! Disk images through `qemu-img` (run with `std::process`, never linked).
//!
//! The disk format of a plain image file is what `qemu-img info
//! --output=json` reports. A compressed image cannot be probed by qemu-img
//! (it would see the compressed bytes), so its format is recognised from the
//! header of the decompressed content instead, by the same magic numbers
//! qemu's probes use.
//!
//! Disks are made with it too: blank disks, qcow2 overlays on a base image
//! (which is then only read) and conversions between formats.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the `qemu-img` program to run (default:
/// `qemu-img` from `PATH`).
pub const QEMU_IMG_VARIABLE: &str = "STRATUS_QEMU_IMG";

/// How many bytes of a decompressed image [`format_from_header`] needs.
pub const HEADER_BYTES: usize = 512;

/// The longest `qemu-img info` may take (it reads an image's headers, in
/// milliseconds): 30 seconds, then it is killed. An image can make it
/// wait, as a VMDK descriptor naming a FIFO or a slow network file as an
/// extent does.
pub const QEMU_IMG_TIMEOUT: Duration = Duration::from_secs(30);

/// The most output of `qemu-img info` read: 16 MiB (a few hundred bytes
/// usually; a qcow2 image's snapshot table may make it larger).
pub const MAX_QEMU_IMG_OUTPUT: u64 = 16 * 1024 * 1024;

fn qemu_img_program() -> String {
    std::env::var(QEMU_IMG_VARIABLE).unwrap_or_else(|_| "qemu-img".to_string())
}

/// The disk format (`raw`, `qcow2`, `vmdk`, ...) of the image file at `path`,
/// as `qemu-img info` reports it.
pub fn detect_format(path: &Path) -> Result<String> {
    Ok(detect(path)?.0)
}

/// The format of the image at `path` and, if its header names one, a file
/// other than itself that QEMU would open with it: a backing file, a qcow2
/// external data file, or a VMDK extent (an image from elsewhere must name
/// none: QEMU would open that host file for the guest). The file is
/// described for a message ("a backing file (/x)").
pub fn detect_format_and_external_file(path: &Path) -> Result<(String, Option<String>)> {
    detect(path)
}

fn detect(path: &Path) -> Result<(String, Option<String>)> {
    let program = qemu_img_program();
    // The real file: `/dev/stdin` would mean the child's own stdin.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut command = Command::new(&program);
    command
        .arg("info")
        .arg("--output=json")
        // Read an image another process holds (a running VM) without its lock.
        .arg("-U")
        .arg(as_plain_file(&real));
    let output = run_bounded(command, path)?;
    if !output.status.success() {
        return Err(Error::Tool {
            tool: "qemu-img",
            message: format!(
                "could not read the format of {}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        });
    }
    let external = parse_info_external_file(&output.stdout);
    let format = parse_info_format(&output.stdout).ok_or_else(|| Error::Tool {
        tool: "qemu-img",
        message: format!(
            "no \"format\" in the output of 'qemu-img info' for {}",
            path.display()
        ),
    })?;
    Ok((format, external))
}

/// One output of a child, read on a thread up to one byte over
/// [`MAX_QEMU_IMG_OUTPUT`].
struct Pipe {
    reader: Option<std::thread::JoinHandle<Vec<u8>>>,
    data: Option<Vec<u8>>,
}

impl Pipe {
    fn read(pipe: Option<impl Read + Send + 'static>) -> Pipe {
        let reader = pipe.map(|pipe| {
            std::thread::spawn(move || {
                let mut data = Vec::new();
                let _ = pipe.take(MAX_QEMU_IMG_OUTPUT + 1).read_to_end(&mut data);
                data
            })
        });
        Pipe { reader, data: None }
    }

    /// Whether the reader has stopped with more than the limit (an early
    /// end of the output is not a fault: the child is still waited for).
    fn over_limit(&mut self) -> bool {
        if self.reader.as_ref().is_some_and(|r| r.is_finished()) {
            self.data = self.reader.take().and_then(|r| r.join().ok());
        }
        self.data
            .as_ref()
            .is_some_and(|d| d.len() as u64 > MAX_QEMU_IMG_OUTPUT)
    }

    /// Whether the output has ended (or was never read).
    fn ended(&self) -> bool {
        self.reader.as_ref().is_none_or(|r| r.is_finished())
    }

    /// Everything read, once the output has ended.
    fn finish(mut self) -> Vec<u8> {
        match self.reader.take() {
            Some(reader) => reader.join().unwrap_or_default(),
            None => self.data.unwrap_or_default(),
        }
    }
}

/// What `qemu-img info` said.
struct Output {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs qemu-img with its output read up to [`MAX_QEMU_IMG_OUTPUT`] and
/// its time bounded by [`QEMU_IMG_TIMEOUT`]; a qemu-img over either is
/// killed, and the error names the image and the bound.
fn run_bounded(mut command: Command, image: &Path) -> Result<Output> {
    let program = qemu_img_program();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Tool {
            tool: "qemu-img",
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "'{program}' was not found; install qemu-img (Debian/Ubuntu: qemu-utils, RPM: qemu-img) or give the format with --format"
                )
            } else {
                format!("could not run '{program}': {e}")
            },
        })?;
    let failure = |message: String| Error::Tool {
        tool: "qemu-img",
        message: format!(
            "{message} for {}; give the format with --format",
            image.display()
        ),
    };
    let too_much = || {
        failure(format!(
            "'{program} info' wrote more than the {MAX_QEMU_IMG_OUTPUT} bytes read of it"
        ))
    };
    let mut stdout = Pipe::read(child.stdout.take());
    let mut stderr = Pipe::read(child.stderr.take());
    let deadline = Instant::now() + QEMU_IMG_TIMEOUT;
    // Until qemu-img has exited and both its outputs have ended (a child
    // of its own could hold them open).
    let mut exited = None;
    let status = loop {
        let over = stdout.over_limit() || stderr.over_limit();
        if over || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(if over {
                too_much()
            } else {
                failure(format!(
                    "'{program} info' did not finish within {} seconds",
                    QEMU_IMG_TIMEOUT.as_secs()
                ))
            });
        }
        if exited.is_none() {
            exited = child.try_wait().map_err(|e| failure(e.to_string()))?;
        }
        if let Some(status) = exited.filter(|_| stdout.ended() && stderr.ended()) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (stdout, stderr) = (stdout.finish(), stderr.finish());
    if [&stdout, &stderr]
        .iter()
        .any(|data| data.len() as u64 > MAX_QEMU_IMG_OUTPUT)
    {
        return Err(too_much());
    }
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Run `qemu-img` with `args`; its error output becomes the message of a
/// failure, prefixed with `what`.
fn run_qemu_img(args: &[&std::ffi::OsStr], what: &str) -> Result<()> {
    let program = qemu_img_program();
    let output = Command::new(&program)
        .args(args)
        .output()
        .map_err(|e| Error::Tool {
            tool: "qemu-img",
            message: format!("could not run '{program}': {e}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Tool {
        tool: "qemu-img",
        message: format!(
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        ),
    })
}

/// Make a blank disk of `size` (a qemu-img size such as `3G`) in `format`
/// (`raw` or `qcow2`) at `path`.
pub fn create_blank(path: &Path, format: &str, size: &str) -> Result<()> {
    let target = as_plain_file(path);
    run_qemu_img(
        &[
            "create".as_ref(),
            "-q".as_ref(),
            "-f".as_ref(),
            format.as_ref(),
            target.as_os_str(),
            size.as_ref(),
        ],
        &format!("could not create {}", path.display()),
    )
}

/// Make a qcow2 overlay at `overlay` whose backing file is `base` (of
/// `base_format`): the VM writes to the overlay, `base` is only read.
pub fn create_overlay(base: &Path, base_format: &str, overlay: &Path) -> Result<()> {
    let base = std::fs::canonicalize(base).map_err(|e| Error::io(base, e))?;
    let target = as_plain_file(overlay);
    run_qemu_img(
        &[
            "create".as_ref(),
            "-q".as_ref(),
            "-f".as_ref(),
            "qcow2".as_ref(),
            "-F".as_ref(),
            base_format.as_ref(),
            "-b".as_ref(),
            base.as_os_str(),
            target.as_os_str(),
        ],
        &format!("could not create the overlay {}", overlay.display()),
    )
}

/// Copy the image `source` (of `source_format`) to `target` in `format`,
/// the whole chain of an overlay flattened into one file.
pub fn convert(source: &Path, source_format: &str, target: &Path, format: &str) -> Result<()> {
    let source_file = as_plain_file(source);
    let target_file = as_plain_file(target);
    run_qemu_img(
        &[
            "convert".as_ref(),
            "-q".as_ref(),
            "-f".as_ref(),
            source_format.as_ref(),
            "-O".as_ref(),
            format.as_ref(),
            source_file.as_os_str(),
            target_file.as_os_str(),
        ],
        &format!("could not convert {} to {format}", source.display()),
    )
}

/// qemu-img reads `name:rest` as a protocol and `-name` as an option: a
/// relative path is given as `./path`, which it always takes as a file.
fn as_plain_file(path: &Path) -> std::path::PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new(".").join(path)
    }
}

/// A file other than the image itself that `qemu-img info --output=json`
/// says the image makes QEMU open: `backing-filename`, the qcow2
/// `data-file` (which `children` does not list), or any child node but the
/// image's own `file` (VMDK extents, and whatever a later format adds).
fn parse_info_external_file(json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    if let Some(backing) = value.get("backing-filename") {
        return Some(format!("a backing file ({})", text_of(backing)));
    }
    if let Some(data) = value.pointer("/format-specific/data/data-file") {
        return Some(format!("an external data file ({})", text_of(data)));
    }
    let children = value.get("children")?.as_array()?;
    children
        .iter()
        .find(|child| child.get("name").and_then(|n| n.as_str()) != Some("file"))
        .map(|child| {
            let name = child.get("name").map(text_of).unwrap_or_default();
            let file = child
                .pointer("/info/filename")
                .map(text_of)
                .unwrap_or_default();
            format!("another file, {name} ({file})")
        })
}

/// A JSON value as text for a message.
fn text_of(value: &serde_json::Value) -> String {
    match value.as_str() {
        Some(text) => text.to_string(),
        None => value.to_string(),
    }
}

/// The top-level `format` of `qemu-img info --output=json`.
fn parse_info_format(json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    value.get("format")?.as_str().map(str::to_string)
}

/// The name of a compression format stratus does not read, recognised by
/// its magic bytes, so that such an image is not described as raw.
pub fn unsupported_compression(header: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"\x04\x22\x4d\x18", "lz4"),
        (b"PK\x03\x04", "zip"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
    ];
    MAGICS
        .iter()
        .find(|(magic, _)| header.starts_with(magic))
        .map(|(_, name)| *name)
}

/// The disk format recognised from the first bytes of an image: the formats
/// qemu-img knows by a magic number, else `raw`.
pub fn format_from_header(header: &[u8]) -> &'static str {
    const MAGICS: &[(&[u8], usize, &str)] = &[
        (b"QFI\xfb", 0, "qcow2"),
        (b"KDMV", 0, "vmdk"),
        (b"# Disk DescriptorFile", 0, "vmdk"),
        (b"vhdxfile", 0, "vhdx"),
        (b"conectix", 0, "vpc"),
        (b"QED\0", 0, "qed"),
        (b"\x7f\x10\xda\xbe", 0x40, "vdi"),
        (b"LUKS\xba\xbe", 0, "luks"),
        (b"WithoutFreeSpace", 0, "parallels"),
        (b"WithouFreSpacExt", 0, "parallels"),
    ];
    let found = MAGICS.iter().find(|(magic, offset, _)| {
        header.len() >= offset + magic.len() && &header[*offset..offset + magic.len()] == *magic
    });
    match found {
        // qcow version 1 shares the magic; its version field says which.
        Some((_, _, "qcow2")) if header.get(4..8) == Some(&[0, 0, 0, 1]) => "qcow",
        Some((_, _, format)) => format,
        None => "raw",
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn files_other_than_the_image_are_found_in_qemu_img_info() {
        let plain =
            br#"{"format":"qcow2","children":[{"name":"file","info":{"filename":"a.qcow2"}}]}"#;
        assert_eq!(parse_info_external_file(plain), None);
        let backing = br#"{"format":"qcow2","backing-filename":"/etc/shadow"}"#;
        assert_eq!(
            parse_info_external_file(backing).as_deref(),
            Some("a backing file (/etc/shadow)")
        );
        let data_file = br#"{"format":"qcow2","format-specific":{"type":"qcow2","data":{"data-file":"/home/u/.ssh/id_rsa","data-file-raw":true}},"children":[{"name":"file"}]}"#;
        assert_eq!(
            parse_info_external_file(data_file).as_deref(),
            Some("an external data file (/home/u/.ssh/id_rsa)")
        );
        let extents = br#"{"format":"vmdk","children":[{"name":"extents.0","info":{"filename":"/dev/sda"}},{"name":"file","info":{"filename":"e.vmdk"}}]}"#;
        assert_eq!(
            parse_info_external_file(extents).as_deref(),
            Some("another file, extents.0 (/dev/sda)")
        );
    }
    use super::*;

    #[test]
    fn parses_qemu_img_json() {
        let json =
            br#"{"children": [{"name": "file", "info": {"format": "file"}}], "format": "qcow2"}"#;
        assert_eq!(parse_info_format(json).as_deref(), Some("qcow2"));
        assert_eq!(parse_info_format(b"not json"), None);
    }

    #[test]
    fn recognises_headers() {
        assert_eq!(format_from_header(b"QFI\xfb\0\0\0\x03rest"), "qcow2");
        assert_eq!(format_from_header(b"QFI\xfb\0\0\0\x01rest"), "qcow");
        assert_eq!(format_from_header(b"KDMV...."), "vmdk");
        assert_eq!(format_from_header(&[0u8; 512]), "raw");
        let mut vdi = vec![0u8; 0x44];
        vdi[0x40..].copy_from_slice(b"\x7f\x10\xda\xbe");
        assert_eq!(format_from_header(&vdi), "vdi");
        assert_eq!(format_from_header(b"LUKS\xba\xbe\0\x01"), "luks");
        assert_eq!(
            unsupported_compression(b"\x28\xb5\x2f\xfd...."),
            Some("zstd")
        );
        assert_eq!(unsupported_compression(b"QFI\xfb"), None);
    }

    #[test]
    fn real_qemu_img_detects_qcow2_and_raw() {
        let dir = tempfile::tempdir().unwrap();
        let qcow2 = dir.path().join("disk.img");
        let status = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&qcow2)
            .arg("1M")
            .status()
            .expect("qemu-img is installed");
        assert!(status.success());
        assert_eq!(detect_format(&qcow2).unwrap(), "qcow2");
        let raw = dir.path().join("disk.qcow2");
        std::fs::write(&raw, vec![0u8; 4096]).unwrap();
        assert_eq!(detect_format(&raw).unwrap(), "raw");
        let header = std::fs::read(&qcow2).unwrap();
        assert_eq!(format_from_header(&header[..HEADER_BYTES]), "qcow2");
    }
}
