//! `stratus-create-image`: make a new image, from scratch or from an
//! existing one, optionally prepared with the kit and customised by
//! scripts and packages, and describe it in a draft metadata document on
//! stdout (so that `stratus-create-image … | stratus-sign-metadata` signs
//! it).
//!
//! The new image is built in a working directory next to `--output` and
//! renamed into place only when everything worked: a failure leaves no
//! file. The base image is only ever read (it is copied with `qemu-img
//! convert` first).
//!
//! Customisation runs inside the image, one of two ways:
//! - `boot` (the legacy way): the image boots under QEMU with a context CD
//!   whose `init.sh` runs the scripts, installs the packages and the kit,
//!   then powers the guest off; this needs an image that already runs the
//!   context script (one made with `--from-dir --prepare`, or prepared
//!   before);
//! - `guestfs`: `virt-customize` edits the image without booting it, for
//!   images that do not run the context script yet.

use crate::common::{CliError, Verbosity};
use crate::site_args::SITE_EXIT_CODES_HELP as EXIT_CODES_HELP;
use crate::vm::{self, DraftArgs, LegacyArgs, SiteArgs, VmArgs};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::Command;
use stratus_core::image::qemu;
use stratus_core::site::context::{shell_quote, Context};
use stratus_core::site::instance::{self, Accel, Disk, Forward, Network, Spec};
use stratus_core::site::kit;
use stratus_core::site::obtain::LocalImage;
use stratus_core::Error;

/// The `virt-customize` program to run (default: from `PATH`).
pub const VIRT_CUSTOMIZE_VARIABLE: &str = "STRATUS_VIRT_CUSTOMIZE";

/// The line the customisation script prints last on the console, with its
/// status, so the host knows the scripts ran to the end.
const STATUS_LINE: &str = "stratus-create-image: status ";

/// Create a new machine image and print its draft metadata document.
///
/// From scratch (`--size`, `--from-dir`, `--install-iso`) or from BASE: a
/// local image file, a local metadata file (the image it describes,
/// checked against its checksums), a Marketplace identifier (resolved,
/// policy-checked and downloaded by the site code), or an image URL (only
/// with --checksum, or --unverified-image-url).
#[derive(Debug, Parser)]
#[command(
    name = "stratus-create-image",
    version,
    infer_long_args = true,
    after_help = EXIT_CODES_HELP,
    after_long_help = format!("Examples:\n  \
        stratus-create-image --size 3G -o blank.qcow2 > blank.xml\n  \
        stratus-create-image --from-dir rootfs --prepare --format raw -o tiny.img --title Tiny > tiny.xml\n  \
        stratus-create-image base.xml --script setup.sh -o new.qcow2 | stratus-sign-metadata > new.xml\n\n\
        {EXIT_CODES_HELP}\n  \
        STRATUS_QEMU                     the QEMU program (default qemu-system-x86_64)\n  \
        STRATUS_QEMU_IMG                 the qemu-img program\n  \
        STRATUS_MKISOFS                  the ISO 9660 writer (default: genisoimage, xorrisofs or mkisofs)")
)]
pub struct CreateImage {
    /// The base image: an image file, a metadata file, a Marketplace identifier or a URL
    #[arg(value_name = "BASE")]
    pub base: Option<String>,
    /// Make a blank disk of this size (qemu-img sizes: 512M, 3G); with --from-dir, the
    /// file system's size
    #[arg(long, value_name = "SIZE")]
    pub size: Option<String>,
    /// Make an ext4 disk (no partition table) holding this directory tree (mkfs.ext4 -d)
    #[arg(long, value_name = "DIR", conflicts_with = "base")]
    pub from_dir: Option<PathBuf>,
    /// Boot this installer CD on the blank disk of --size, until the guest powers off
    #[arg(long, value_name = "ISO", requires = "size", conflicts_with_all = ["base", "from_dir"])]
    pub install_iso: Option<PathBuf>,
    /// Show the installer on VNC display N of 127.0.0.1 (else its serial console goes to the log)
    #[arg(long, value_name = "N", requires = "install_iso")]
    pub vnc: Option<u16>,
    /// The new image file
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Format of the new image: raw or qcow2 [default: raw with --from-dir, else qcow2]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Install the preparation kit (context script, first-boot root password and SSH server)
    #[arg(long)]
    pub prepare: bool,
    /// Run this script inside the image (repeatable, or comma-separated)
    #[arg(
        short = 's',
        long = "script",
        visible_alias = "scripts",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub scripts: Vec<PathBuf>,
    /// Install this package inside the image (repeatable, or comma-separated; needs the guest
    /// to reach its repositories, so the network is opened for that boot)
    #[arg(
        short = 'a',
        long = "package",
        visible_alias = "packages",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub packages: Vec<String>,
    /// The package manager that installs --package: apt, dnf, yum, zypper, apk, or dpkg (busybox
    /// or dpkg alone: each package is fetched from the --extra-os-repos flat repositories,
    /// checked against their Packages index, installed with dpkg -i) [default: the first the
    /// image has of apt, dnf, yum, zypper, apk]
    #[arg(long, value_name = "NAME")]
    pub installer: Option<String>,
    /// Package repositories to add before installing --package (repeatable, or comma-separated):
    /// apt: `deb URL ./` (a flat repository, signed by a key the image trusts); dnf and yum: a
    /// .repo file with gpgcheck on; zypper: zypper addrepo; apk: /etc/apk/repositories; dpkg: where
    /// the packages are fetched from
    #[arg(long = "extra-os-repos", value_name = "URL", value_delimiter = ',')]
    pub extra_os_repos: Vec<String>,
    /// Remove this path (absolute, inside the image) from the new image before it is written
    /// (repeatable, or comma-separated)
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Leave the customising guest running when its scripts are done: the new image is written
    /// when the guest powers off by itself (within --vm-start-timeout)
    #[arg(long)]
    pub no_shutdown: bool,
    /// Legacy (the image was uploaded to an appliance repository): accepted; create-image never
    /// uploads, the image is --output
    #[arg(long)]
    pub no_upload: bool,
    /// Attach this disk image too, read-write, to the customising (or installing) guest
    #[arg(long, value_name = "FILE")]
    pub persistent_disk: Vec<PathBuf>,
    /// Legacy name of the new image in the appliance repository: accepted, no effect (the image is
    /// --output; --tag names it in the Marketplace)
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    /// Legacy version of --name: accepted, no effect (--image-version is slterms:version)
    #[arg(long, value_name = "VERSION")]
    pub name_version: Option<String>,
    /// Legacy appliance repository group: accepted, no effect
    #[arg(long, value_name = "GROUP")]
    pub image_group: Option<String>,
    /// Legacy ping wait: accepted, no effect (the host follows the guest's console, not pings)
    #[arg(long, value_name = "SECONDS")]
    pub vm_ping_timeout: Option<u64>,
    /// How scripts, packages and the kit go into an existing image: boot (under QEMU, with a
    /// context CD: the image must run the context script), guestfs (virt-customize), or auto
    /// (boot, except --prepare of an image from BASE, which uses guestfs)
    #[arg(long, value_name = "METHOD", default_value = "auto")]
    pub method: String,
    /// Seconds the customising (or installing) guest may run before it is stopped
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub vm_start_timeout: u64,
    /// Keep the customising guest's console log here
    #[arg(long, value_name = "FILE")]
    pub console_log: Option<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub vm: VmArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub legacy: LegacyArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub draft: DraftArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub site: SiteArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// How the image is customised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Boot,
    Guestfs,
}

/// Run `stratus-create-image`.
pub fn run(args: CreateImage) -> Result<i32, CliError> {
    let output = check(&args)?;
    explain_legacy(&args);
    let format = args.format.clone().unwrap_or_else(|| {
        if args.from_dir.is_some() {
            "raw"
        } else {
            "qcow2"
        }
        .to_string()
    });
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let work = tempfile::Builder::new()
        .prefix(".stratus-create-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;
    let disk = work.path().join(format!("new.{format}"));
    let (base, prepared) = make_disk(&args, &format, &disk, work.path())?;
    let needs_prepare = args.prepare && !prepared;
    let customise = !args.scripts.is_empty()
        || !args.packages.is_empty()
        || !args.exclude.is_empty()
        || args.no_shutdown
        || needs_prepare;
    if customise {
        let method = method(&args, base.is_some(), needs_prepare)?;
        match method {
            Method::Boot => customise_by_boot(&args, &disk, &format, needs_prepare, work.path())?,
            Method::Guestfs => customise_by_guestfs(&args, &disk, &format, needs_prepare)?,
        }
        args.verbosity.info(format!(
            "customised by {}",
            match method {
                Method::Boot => "booting it under QEMU with a context CD",
                Method::Guestfs => "virt-customize",
            }
        ));
    }
    std::fs::rename(&disk, &output).map_err(|e| Error::io(&output, e))?;
    let bus = match base.as_ref() {
        Some(image) => args.vm.bus(image)?,
        None => args.vm.bus_or_default()?,
    };
    let text = vm::draft(
        &output,
        &format,
        bus,
        &args.draft,
        base.as_ref(),
        args.verbosity,
    )?;
    crate::common::write_output(None, text.as_bytes())?;
    args.verbosity
        .info(format!("image written: {}", output.display()));
    Ok(0)
}

/// Check the options; the output file.
fn check(args: &CreateImage) -> Result<PathBuf, CliError> {
    args.vm.check()?;
    let sources = usize::from(args.base.is_some())
        + usize::from(args.from_dir.is_some())
        + usize::from(args.install_iso.is_some());
    if sources == 0 && args.size.is_none() {
        return Err(CliError::Usage(
            "Please specify a base image, or --size, --from-dir or --install-iso".into(),
        ));
    }
    if args.base.is_some() && args.size.is_some() {
        return Err(CliError::Usage(
            "--size makes a new disk: it cannot be given with a base image".into(),
        ));
    }
    if let Some(format) = &args.format {
        if format != "raw" && format != "qcow2" {
            return Err(vm::bad("--format", format, "raw or qcow2"));
        }
    }
    if !["auto", "boot", "guestfs"].contains(&args.method.as_str()) {
        return Err(vm::bad("--method", &args.method, "auto, boot or guestfs"));
    }
    for script in &args.scripts {
        vm::require_file("--script", script, "an existing file")?;
    }
    for package in &args.packages {
        let ok = !package.is_empty()
            && !package.starts_with('-')
            && package
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-._:=~".contains(c));
        if !ok {
            return Err(vm::bad("--package", package, "a package name"));
        }
    }
    if let Some(installer) = &args.installer {
        if !INSTALLERS.contains(&installer.as_str()) {
            return Err(vm::bad(
                "--installer",
                installer,
                "apt, dnf, yum, zypper, apk or dpkg",
            ));
        }
        if installer == "dpkg" && args.extra_os_repos.is_empty() && !args.packages.is_empty() {
            return Err(CliError::Usage(
                "--installer dpkg fetches the packages from --extra-os-repos: give at least one"
                    .into(),
            ));
        }
    }
    for repo in &args.extra_os_repos {
        let lower = repo.to_ascii_lowercase();
        let scheme = ["http://", "https://", "ftp://", "file:///"]
            .iter()
            .any(|s| lower.starts_with(s));
        if !scheme || repo.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(vm::bad(
                "--extra-os-repos",
                repo,
                "http://, https://, ftp:// or file:/// URLs without spaces",
            ));
        }
    }
    for path in &args.exclude {
        let ok = path.starts_with('/')
            && !path.trim_matches('/').is_empty()
            && !path.split('/').any(|part| part == "..")
            && !path.chars().any(char::is_control);
        if !ok {
            return Err(vm::bad(
                "--exclude",
                path,
                "an absolute path inside the image (not / itself, no ..)",
            ));
        }
    }
    for path in &args.persistent_disk {
        vm::require_file("--persistent-disk", path, "an existing disk image file")?;
    }
    if args.no_shutdown && args.base.is_none() && args.from_dir.is_none() {
        return Err(CliError::Usage(
            "--no-shutdown keeps the customising guest of a base image or --from-dir running: \
             a blank disk or an installer has none"
                .into(),
        ));
    }
    if args.no_shutdown && args.method == "guestfs" {
        return Err(CliError::Usage(
            "--no-shutdown keeps the customising guest running: it needs --method boot".into(),
        ));
    }
    if let Some(dir) = &args.from_dir {
        vm::require_dir("--from-dir", dir)?;
    }
    if let Some(iso) = &args.install_iso {
        vm::require_file("--install-iso", iso, "an existing file")?;
    }
    let output = args
        .output
        .clone()
        .ok_or_else(|| CliError::Usage("Please specify the new image file with --output".into()))?;
    if output.is_dir() {
        return Err(vm::bad(
            "--output",
            &output.display().to_string(),
            "a file name, not a directory",
        ));
    }
    Ok(output)
}

/// The package managers `--installer` names.
const INSTALLERS: [&str; 6] = ["apt", "dnf", "yum", "zypper", "apk", "dpkg"];

/// Say which legacy options were given that have no effect here, and why.
fn explain_legacy(args: &CreateImage) {
    args.legacy.explain(args.verbosity);
    let v = args.verbosity;
    if args.no_upload {
        v.info("--no-upload: create-image never uploads the image; it is written to --output");
    }
    for (given, option, why) in [
        (
            args.name.is_some(),
            "--name",
            "the image is --output; --tag names it in the Marketplace",
        ),
        (
            args.name_version.is_some(),
            "--name-version",
            "--image-version is the image's slterms:version",
        ),
        (
            args.image_group.is_some(),
            "--image-group",
            "there is no appliance repository",
        ),
        (
            args.vm_ping_timeout.is_some(),
            "--vm-ping-timeout",
            "the guest is followed on its console; --vm-start-timeout bounds it",
        ),
    ] {
        if given {
            v.warn(format!("{option} is ignored: {why}"));
        }
    }
}

/// The customisation method the options and the image call for.
fn method(args: &CreateImage, from_base: bool, needs_prepare: bool) -> Result<Method, CliError> {
    Ok(match args.method.as_str() {
        "boot" => Method::Boot,
        "guestfs" => Method::Guestfs,
        _ if args.no_shutdown => Method::Boot,
        _ if from_base && needs_prepare => Method::Guestfs,
        _ => Method::Boot,
    })
}

/// Make the new disk at `disk`; the base image it came from, and whether
/// the kit is already in it.
fn make_disk(
    args: &CreateImage,
    format: &str,
    disk: &Path,
    work: &Path,
) -> Result<(Option<LocalImage>, bool), CliError> {
    if let Some(dir) = &args.from_dir {
        from_dir(args, dir, format, disk, work)?;
        return Ok((None, args.prepare));
    }
    if let Some(base) = &args.base {
        let image = vm::obtain(
            base,
            &args.site,
            &work.join("base"),
            args.vm.qcow_disk_format,
            args.verbosity,
        )?;
        // A copy: the base is never written.
        qemu::convert(&image.path, &image.format, disk, format)?;
        return Ok((Some(image), false));
    }
    let size = args.size.as_deref().unwrap_or("1G");
    qemu::create_blank(disk, format, size)?;
    if let Some(iso) = &args.install_iso {
        install(args, iso, disk, format, work)?;
    }
    Ok((None, false))
}

/// An ext4 file system holding `dir` (with the kit installed into a copy of
/// the tree when `--prepare`), as `format`.
fn from_dir(
    args: &CreateImage,
    dir: &Path,
    format: &str,
    disk: &Path,
    work: &Path,
) -> Result<(), CliError> {
    let tree = if args.prepare {
        let copy = work.join("tree");
        vm::run_tool(
            Command::new("cp").arg("-a").arg(dir).arg(&copy),
            "cp",
            &format!("could not copy {}", dir.display()),
        )?;
        let kit_dir = work.join("kit");
        kit::write_to(&kit_dir)?;
        vm::run_tool(
            Command::new("sh")
                .arg(kit_dir.join("install.sh"))
                .arg(&copy)
                .stdout(std::process::Stdio::null()),
            "sh",
            "the kit's install.sh failed on the tree",
        )?;
        copy
    } else {
        dir.to_path_buf()
    };
    let size = match &args.size {
        Some(size) => size.clone(),
        None => format!("{}M", vm::tree_mib(&tree) * 3 / 2 + 32),
    };
    let raw = if format == "raw" {
        disk.to_path_buf()
    } else {
        work.join("fs.raw")
    };
    vm::run_tool(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-L", "root", "-d"])
            .arg(&tree)
            .arg(&raw)
            .arg(&size),
        "mkfs.ext4",
        &format!(
            "could not make an ext4 file system of {size} from {}",
            tree.display()
        ),
    )?;
    if format != "raw" {
        qemu::convert(&raw, "raw", disk, format)?;
    }
    Ok(())
}

/// The VM that runs on the new disk: the options' CPU, memory, kernel and
/// bus, the console in `console`.
fn spec(args: &CreateImage, disk: &Path, format: &str, console: &Path) -> Result<Spec, CliError> {
    let bus = args.vm.bus_or_default()?;
    let mut disks = vec![Disk {
        path: disk.to_path_buf(),
        format: format.into(),
        bus,
        readonly: false,
    }];
    disks.extend(vm::persistent_disks(&args.persistent_disk, bus)?);
    Ok(Spec {
        name: "stratus-create-image".into(),
        cpus: args.vm.cpu,
        ram_mib: args.vm.ram,
        disks,
        cdrom: None,
        boot_cdrom: false,
        network: Network::Restricted,
        forwards: Vec::new(),
        mac: instance::mac_for(0),
        kernel: args.vm.kernel.clone(),
        initrd: args.vm.initrd.clone(),
        append: args.vm.append.clone(),
        console_log: console.to_path_buf(),
        vnc: None,
    })
}

/// Boot the installer CD `iso` on the blank disk until the guest powers off.
fn install(
    args: &CreateImage,
    iso: &Path,
    disk: &Path,
    format: &str,
    work: &Path,
) -> Result<(), CliError> {
    let console = console_path(args, work);
    let mut spec = spec(args, disk, format, &console)?;
    spec.cdrom = Some(std::fs::canonicalize(iso).map_err(|e| Error::io(iso, e))?);
    spec.boot_cdrom = true;
    spec.network = args.vm.network()?;
    spec.vnc = args.vnc;
    if let Some(display) = args.vnc {
        args.verbosity.info(format!(
            "the installer is on VNC 127.0.0.1:{display} (port {})",
            5900 + u32::from(display)
        ));
    }
    let (pid, _) = vm::boot(
        &spec,
        args.vm.accel()?,
        work,
        &mut || Ok(()),
        args.verbosity,
    )?;
    vm::wait_for_power_off(pid, work, args.vm_start_timeout, "the installer")
}

fn console_path(args: &CreateImage, work: &Path) -> PathBuf {
    args.console_log
        .clone()
        .unwrap_or_else(|| work.join("console.log"))
}

/// The `init.sh` of the customising boot: the scripts, the packages, the
/// kit, the exclusions, the publishing clean-up, the status line, power
/// off (unless `--no-shutdown`).
fn init_script(args: &CreateImage, prepare: bool) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by stratus-create-image: customise this image, then power off.\n\
         say() { echo \"stratus-create-image: $*\"; }\nstatus=0\n",
    );
    for (index, script) in args.scripts.iter().enumerate() {
        let name = script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        s.push_str(&format!(
            "if [ $status -eq 0 ]; then say {}; sh ./scripts/{index:02}.sh || status=$?; fi\n",
            shell_quote(&format!("running {name}"))
        ));
    }
    if !args.packages.is_empty() {
        s.push_str(&package_lines(args));
    }
    if prepare {
        s.push_str("if [ $status -eq 0 ]; then sh ./kit/install.sh / || status=$?; fi\n");
    } else {
        // This boot was the image's own first boot: the new image's
        // instances must still randomise their password and make host keys.
        s.push_str(
            "if [ -x /usr/sbin/stratus-firstboot ]; then\n  \
             rm -f /var/lib/stratus/firstboot.done /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub /etc/dropbear/dropbear_*_host_key\nfi\n",
        );
    }
    for path in &args.exclude {
        s.push_str(&format!(
            "if [ $status -eq 0 ]; then rm -rf -- {} || status=$?; fi\n",
            shell_quote(path)
        ));
    }
    s.push_str(&format!(
        "sync\nsay \"status $status\"\n# {STATUS_LINE}is what the host waits for.\n"
    ));
    if args.no_shutdown {
        s.push_str("say 'left running (--no-shutdown): power the guest off to write the image'\n");
    } else {
        s.push_str("poweroff\n");
    }
    s
}

/// The lines of `init.sh` that add the extra repositories and install the
/// packages with the installer asked for, else the first the image has.
fn package_lines(args: &CreateImage) -> String {
    let list = args.packages.join(" ");
    let repos: Vec<String> = args.extra_os_repos.iter().map(|r| shell_quote(r)).collect();
    let repos = repos.join(" ");
    let mut s = format!("packages='{list}'\nrepos={}\n", shell_quote(&repos));
    // Each installer: add the repositories, install. `repos` holds the
    // URLs each single-quoted, and is itself quoted: `eval` splits it back
    // into the URLs, as text, so no URL runs as a command.
    s.push_str(
        r#"# add_repos KIND REPO...
add_repos() {
    kind=$1
    shift
    n=0
    for repo in "$@"; do
        n=$((n + 1))
        case $kind in
        apt) echo "deb $repo ./" >> /etc/apt/sources.list.d/stratus-extra.list ;;
        dnf | yum) printf '[stratus-extra-%s]\nname=stratus-extra-%s\nbaseurl=%s\nenabled=1\ngpgcheck=1\n' \
            "$n" "$n" "$repo" > "/etc/yum.repos.d/stratus-extra-$n.repo" ;;
        zypper) zypper -n addrepo "$repo" "stratus-extra-$n" || return 1 ;;
        apk) echo "$repo" >> /etc/apk/repositories ;;
        esac
    done
}
# dpkg_install REPO...
dpkg_install() {
    mkdir -p /var/lib/dpkg/info /tmp/stratus-packages
    [ -f /var/lib/dpkg/status ] || : > /var/lib/dpkg/status
    for package in $packages; do
        found=
        for repo in "$@"; do
            index=/tmp/stratus-packages/Packages
            wget -q -O "$index" "$repo/Packages" 2> /dev/null || continue
            entry=$(awk -v p="$package" '/^Package:/ { on = ($2 == p) } on && /^(Filename|SHA256):/ { print $2 }' "$index")
            file=$(echo "$entry" | sed -n 1p)
            sum=$(echo "$entry" | sed -n 2p)
            if [ -z "$file" ] || [ -z "$sum" ]; then continue; fi
            case $file in *..* | /*) say "bad file name in $repo/Packages: $file"; return 1 ;; esac
            deb=/tmp/stratus-packages/package.deb
            wget -q -O "$deb" "$repo/$file" || return 1
            echo "$sum  $deb" | sha256sum -c - > /dev/null || { say "$repo/$file: not the SHA-256 of its index"; return 1; }
            dpkg -i "$deb" || return 1
            found=yes
            break
        done
        [ -n "$found" ] || { say "package $package is in no repository"; return 1; }
    done
    rm -rf /tmp/stratus-packages
}
"#,
    );
    let installer = match &args.installer {
        Some(name) => format!("installer={name}\n"),
        None => "installer=\nfor candidate in apt-get:apt dnf:dnf yum:yum zypper:zypper apk:apk; do\n    \
                 if command -v \"${candidate%%:*}\" > /dev/null 2>&1; then installer=${candidate#*:}; break; fi\ndone\n"
            .into(),
    };
    s.push_str(&installer);
    s.push_str(
        r#"if [ $status -eq 0 ]; then
    say "installing $packages${installer:+ with $installer}"
    case $installer in
    apt) { eval "add_repos apt $repos" && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $packages; } || status=$? ;;
    dnf) { eval "add_repos dnf $repos" && dnf -y install $packages; } || status=$? ;;
    yum) { eval "add_repos yum $repos" && yum -y install $packages; } || status=$? ;;
    zypper) { eval "add_repos zypper $repos" && zypper -n install $packages; } || status=$? ;;
    apk) { eval "add_repos apk $repos" && apk update && apk add $packages; } || status=$? ;;
    dpkg) eval "dpkg_install $repos" || status=$? ;;
    *) say 'no package manager found (apt, dnf, yum, zypper or apk; --installer dpkg with --extra-os-repos for others)'; status=127 ;;
    esac
fi
"#,
    );
    s
}

/// Customise `disk` by booting it with a context CD.
fn customise_by_boot(
    args: &CreateImage,
    disk: &Path,
    format: &str,
    prepare: bool,
    work: &Path,
) -> Result<(), CliError> {
    let mut context = Context::new();
    // The network as run-instance describes it, so that packages can be
    // fetched (the context script configures eth0 from these).
    for (name, value) in [
        ("ETH0_IP", instance::GUEST_IP),
        ("ETH0_MASK", instance::GUEST_MASK),
        ("ETH0_GATEWAY", instance::GUEST_GATEWAY),
        ("ETH0_DNS", instance::GUEST_DNS),
    ] {
        context
            .set(name, value)
            .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    for (index, script) in args.scripts.iter().enumerate() {
        let bytes = std::fs::read(script).map_err(|e| Error::io(script, e))?;
        context.add_file(&format!("scripts/{index:02}.sh"), bytes, true)?;
    }
    if prepare {
        for file in kit::FILES {
            context.add_file(
                &format!("kit/{}", file.name),
                file.text.as_bytes().to_vec(),
                file.executable,
            )?;
        }
    }
    context.add_file("init.sh", init_script(args, prepare).into_bytes(), true)?;
    let iso = work.join("context.iso");
    context.write_iso(&iso)?;
    let console = console_path(args, work);
    let _ = std::fs::remove_file(&console);
    let mut spec = spec(args, disk, format, &console)?;
    spec.cdrom = Some(iso);
    spec.network = if args.packages.is_empty() {
        args.vm.network()?
    } else {
        Network::Open
    };
    if args.no_shutdown && spec.network != Network::None {
        spec.forwards.push(Forward {
            host: instance::free_port()?,
            guest: 22,
        });
    }
    let accel = args.vm.accel()?;
    let (pid, used) = vm::boot(&spec, accel, work, &mut || Ok(()), args.verbosity)?;
    args.verbosity.debug(format!(
        "customising guest started with {} (console: {})",
        used.name(),
        console.display()
    ));
    if args.no_shutdown {
        args.verbosity.info(format!(
            "--no-shutdown: the guest keeps running after its scripts; the image is written when \
             it powers off (console: {}{})",
            console.display(),
            spec.forwards
                .first()
                .map(|f| format!(", ssh -p {} root@127.0.0.1", f.host))
                .unwrap_or_default()
        ));
    }
    vm::wait_for_power_off(pid, work, args.vm_start_timeout, "the customising guest")?;
    let log = std::fs::read_to_string(&console).unwrap_or_default();
    let status = log.lines().rev().find_map(|line| {
        line.trim_end()
            .rsplit_once(STATUS_LINE)
            .map(|(_, s)| s.trim().to_string())
    });
    match status.as_deref() {
        Some("0") => Ok(()),
        other => Err(CliError::Core(Error::Tool {
            tool: "qemu-system-x86_64",
            message: format!(
                "the customising guest {}; the end of its console:\n{}",
                match other {
                    Some(code) => format!("reported status {code}"),
                    None => "powered off without running the scripts (does the image run the context script? try --method guestfs)".into(),
                },
                vm::tail(&log, 15)
            ),
        })),
    }
}

/// Customise `disk` with `virt-customize`.
fn customise_by_guestfs(
    args: &CreateImage,
    disk: &Path,
    format: &str,
    prepare: bool,
) -> Result<(), CliError> {
    let staging = tempfile::tempdir().map_err(|e| Error::io("temporary directory", e))?;
    let mut command = Command::new(
        std::env::var(VIRT_CUSTOMIZE_VARIABLE).unwrap_or_else(|_| "virt-customize".into()),
    );
    // --format applies to the -a after it.
    command
        .arg("-q")
        .arg("--format")
        .arg(format)
        .arg("-a")
        .arg(disk);
    if args.packages.is_empty() {
        command.arg("--no-network");
    }
    for script in &args.scripts {
        command.arg("--run").arg(script);
    }
    if !args.packages.is_empty() {
        command.arg("--install").arg(args.packages.join(","));
    }
    if prepare {
        let kit_dir = staging.path().join("stratus-kit");
        kit::write_to(&kit_dir)?;
        command
            .arg("--copy-in")
            .arg(format!("{}:/tmp", kit_dir.display()))
            .arg("--run-command")
            .arg("sh /tmp/stratus-kit/install.sh / && rm -rf /tmp/stratus-kit")
            // The legacy kit's first boot, done here rather than trusted to
            // the image: no instance keeps the author's password.
            .arg("--root-password")
            .arg("random");
    }
    // libguestfs runs its appliance with KVM whenever /dev/kvm exists, and
    // hangs where KVM runs no guest: TCG unless KVM was asked for.
    if args.vm.accel()? != Accel::Kvm {
        command.env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg");
    }
    let log_path = staging.path().join("virt-customize.log");
    let log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    // Its own process group, so that a timeout stops its appliance too.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| Error::Tool {
            tool: "virt-customize",
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "virt-customize was not found: install libguestfs (Debian: guestfs-tools), or use --method boot".into()
            } else {
                format!("could not run virt-customize: {e}")
            },
        })?;
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_secs(args.vm_start_timeout);
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::io("virt-customize", e))?
        {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(format!("-{}", child.id()))
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
    match status {
        Some(status) if status.success() => Ok(()),
        other => Err(CliError::Core(Error::Tool {
            tool: "virt-customize",
            message: format!(
                "virt-customize {} on {}: {}",
                if other.is_some() {
                    "failed".to_string()
                } else {
                    format!("did not finish within {} s: stopped", args.vm_start_timeout)
                },
                disk.display(),
                error_lines(&stderr)
            ),
        })),
    }
}

/// The lines of virt-customize's messages that say what failed (its
/// advice about debugging follows them), else the end of its output.
fn error_lines(stderr: &str) -> String {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    if errors.is_empty() {
        vm::tail(stderr, 10)
    } else {
        errors.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_customising_script_parses_and_reports_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("it's $(x).sh");
        std::fs::write(&script, "true\n").unwrap();
        let args = CreateImage::parse_from([
            "stratus-create-image".as_ref(),
            "base.img".as_ref(),
            "--script".as_ref(),
            script.as_os_str(),
            "--package".as_ref(),
            "dropbear,curl".as_ref(),
            "--extra-os-repos".as_ref(),
            "http://10.0.2.2:8080/it's,http://x/$(y)".as_ref(),
            "--exclude".as_ref(),
            "/root/.ash_history".as_ref(),
            "-o".as_ref(),
            "new.img".as_ref(),
        ]);
        assert_eq!(args.packages, ["dropbear", "curl"]);
        for prepare in [false, true] {
            let text = init_script(&args, prepare);
            let checked = Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(&text)
                .status()
                .unwrap();
            assert!(checked.success(), "{text}");
            assert!(text.contains("say 'running it'\\''s $(x).sh'"), "{text}");
            assert!(text.contains("packages='dropbear curl'"), "{text}");
            assert!(text.contains("apt-get install -y $packages"), "{text}");
            assert_eq!(text.contains("./kit/install.sh /"), prepare);
            assert!(text.trim_end().ends_with("poweroff"));
            assert!(text.contains("rm -rf -- '/root/.ash_history'"), "{text}");
        }
        // The repositories reach the guest as text: the script, run with
        // a shell whose `set -- ` list is printed, lists them unchanged.
        let text = package_lines(&args);
        let start = text.find("repos=").unwrap();
        let line = &text[start..text[start..].find('\n').unwrap() + start];
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{line}\neval \"set -- $repos\"; printf '%s\\n' \"$@\""
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "http://10.0.2.2:8080/it's\nhttp://x/$(y)\n"
        );
    }

    #[test]
    fn the_customising_script_passes_shellcheck() {
        let found = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|d| d.join("shellcheck").is_file())
        });
        if !found {
            assert!(
                std::env::var("STRATUS_CI").as_deref() != Ok("1"),
                "shellcheck is missing (Debian: shellcheck); CI must install it"
            );
            eprintln!("skipped: shellcheck is not installed (Debian: shellcheck)");
            return;
        }
        let args = CreateImage::parse_from([
            "stratus-create-image",
            "base.img",
            "--package",
            "a,b",
            "--extra-os-repos",
            "http://x/r",
            "--exclude",
            "/tmp/x",
            "-o",
            "new.img",
        ]);
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("init.sh");
        std::fs::write(&script, init_script(&args, true)).unwrap();
        // SC2086: $packages is split into package names on purpose.
        let out = Command::new("shellcheck")
            .args(["--shell=sh", "--exclude=SC2086"])
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    #[test]
    fn bad_installers_repositories_and_exclusions_are_refused() {
        for bad in [
            &["--installer", "pip"][..],
            &["--extra-os-repos", "javascript:x"],
            &["--extra-os-repos", "http://a b"],
            &["--exclude", "relative"],
            &["--exclude", "/"],
            &["--exclude", "/a/../b"],
            &["--installer", "dpkg", "--package", "x"],
            &["--no-shutdown"],
        ] {
            let mut argv = vec!["stratus-create-image", "--size", "1M", "-o", "x.img"];
            argv.extend_from_slice(bad);
            let args = CreateImage::parse_from(argv);
            assert!(check(&args).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn package_names_cannot_be_options_or_shell() {
        for bad in ["-y", "a;b", "$(x)", "a b", ""] {
            let package = format!("--package={bad}");
            let args = CreateImage::parse_from([
                "stratus-create-image",
                "--size",
                "1M",
                "-o",
                "x.img",
                &package,
            ]);
            assert!(check(&args).is_err(), "{bad}");
        }
    }
}
