//! `stratus-run-instance`: start a local instance of an image under QEMU,
//! with an OpenNebula-style context CD, or describe it for libvirt or
//! OpenNebula.
//!
//! The image is obtained and checked before anything starts
//! ([`crate::vm::obtain`]; an image URL only with `--checksum`, or
//! unchecked with `--unverified-image-url`, which a warning says); the VM boots from a qcow2 overlay on it, so the
//! image is never written. The context CD carries `context.sh` (host name,
//! the user's SSH key, the network, `--context` variables, every value
//! single-quoted) and `init.sh` from `--init-script`. SSH and the image's
//! `slterms:inbound-port` ports are forwarded from free ports of 127.0.0.1.
//! The instance is recorded in the state directory, where
//! `stratus-describe-instance` and `stratus-kill-instance` find it.

use crate::common::{CliError, Verbosity};
use crate::site_args::SITE_EXIT_CODES_HELP as EXIT_CODES_HELP;
use crate::vm::{self, DraftArgs, LegacyArgs, SiteArgs, VmArgs};
use clap::Parser;
use std::path::{Path, PathBuf};
use stratus_core::image::qemu;
use stratus_core::site::context::Context;
use stratus_core::site::instance::{
    self, Accel, Disk, Forward, Record, Spec, StateDir, GUEST_DNS, GUEST_GATEWAY, GUEST_IP,
    GUEST_MASK,
};
use stratus_core::site::obtain::LocalImage;
use stratus_core::{clock, Error};

/// Start a machine image as a local instance under QEMU.
///
/// IMAGE is a Marketplace identifier, `identifier/email/created`, a
/// metadata URL or file, or an image URL or file (classified as the legacy
/// command did). The image is checked before the VM starts.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-run-instance",
    version,
    infer_long_args = true,
    after_help = EXIT_CODES_HELP,
    after_long_help = format!("Examples:\n  \
        stratus-run-instance tiny.xml --key ~/.ssh/id_ed25519.pub --context ROLE=web\n  \
        stratus-run-instance tiny.xml --print libvirt --print-dir vm > vm/domain.xml\n  \
        stratus-run-instance https://example.org/tiny.img --checksum sha256:<its SHA-256>\n\n\
        An image URL has no signed metadata: it is refused unless --checksum pins it, or\n\
        --unverified-image-url takes it unchecked (with a warning).\n\n\
        {EXIT_CODES_HELP}\n  \
        STRATUS_STATE_DIR                the instances' state directory (default \
        $XDG_STATE_HOME/stratus/instances)\n  STRATUS_QEMU                     the QEMU program\n  \
        STRATUS_KVM_PROBE_SECONDS        how long --accel auto waits for a KVM guest's first output (20)")
)]
pub struct RunInstance {
    /// The image to start
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
    /// The SSH public key the guest's root accepts [default: the first ~/.ssh/id_*.pub]
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The guest's host name [default: stratus-<vm ID>]
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// A context variable for the guest (repeatable); the value reaches it as text
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// The script the guest runs at boot (init.sh on the context CD)
    #[arg(long, value_name = "FILE")]
    pub init_script: Option<PathBuf>,
    /// Start without a context CD
    #[arg(long, conflicts_with_all = ["context", "init_script", "key", "hostname"])]
    pub no_context: bool,
    /// Attach this disk image too, read-write (its format detected)
    #[arg(long, value_name = "FILE")]
    pub persistent_disk: Vec<PathBuf>,
    /// Attach this image too, read-only: a disk image file, or (as the legacy option) an image
    /// named like IMAGE (Marketplace identifier, metadata file or URL), obtained and verified
    /// the same way
    #[arg(long, value_name = "IMAGE")]
    pub readonly_disk: Vec<String>,
    /// Forward this guest TCP port too (repeatable), besides SSH and the image's inbound ports
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Do not start anything: print the VM as a libvirt domain, an OpenNebula template or a
    /// QEMU command line, its overlay and context CD written into --print-dir
    #[arg(long, value_name = "KIND")]
    pub print: Option<String>,
    /// Where --print writes the overlay and the context CD
    #[arg(long, value_name = "DIR", default_value = ".", requires = "print")]
    pub print_dir: PathBuf,
    /// Wait for the guest to power off, then save its disk as a new image in FILE (qcow2),
    /// its draft metadata on stdout
    #[arg(long, value_name = "FILE", conflicts_with = "print")]
    pub save: Option<PathBuf>,
    /// Wait for the guest to power off
    #[arg(long)]
    pub wait: bool,
    /// Seconds --wait and --save wait before stopping the guest
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub wait_timeout: u64,

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

/// Run `stratus-run-instance`.
pub fn run(args: RunInstance) -> Result<i32, CliError> {
    let argument = args
        .image
        .clone()
        .ok_or_else(|| CliError::Usage("Please specify the machine image to start".into()))?;
    check(&args)?;
    args.legacy.explain(args.verbosity);
    if let Some(kind) = &args.print {
        return print(&args, &argument, kind);
    }
    let state = StateDir::from_env()?;
    let (id, dir) = state.allocate()?;
    match start(&args, &argument, &state, id, &dir) {
        Ok(code) => Ok(code),
        Err(error) => {
            state.remove(id);
            Err(error)
        }
    }
}

fn check(args: &RunInstance) -> Result<(), CliError> {
    args.vm.check()?;
    if let Some(kind) = &args.print {
        if !["libvirt", "opennebula", "qemu"].contains(&kind.as_str()) {
            return Err(vm::bad("--print", kind, "libvirt, opennebula or qemu"));
        }
    }
    for path in &args.persistent_disk {
        vm::require_file("--persistent-disk", path, "an existing disk image file")?;
    }
    for image in &args.readonly_disk {
        if stratus_core::site::obtain::classify(image).is_err() {
            return Err(vm::bad(
                "--readonly-disk",
                &crate::common::escaped_name(Path::new(image)),
                "a disk image file, a metadata file, a Marketplace identifier or a URL (no such file)",
            ));
        }
    }
    if let Some(script) = &args.init_script {
        vm::require_file("--init-script", script, "an existing file")?;
    }
    Ok(())
}

/// The SSH key to install: `--key`, else the first `~/.ssh/id_*.pub`.
fn ssh_key(args: &RunInstance) -> Result<Option<String>, CliError> {
    let path = match &args.key {
        Some(path) => path.clone(),
        None => {
            let Some(home) = std::env::var_os("HOME") else {
                return Ok(None);
            };
            let ssh = PathBuf::from(home).join(".ssh");
            let found = ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"]
                .iter()
                .map(|name| ssh.join(name))
                .find(|p| p.is_file());
            match found {
                Some(path) => path,
                None => return Ok(None),
            }
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    if bytes.len() > 64 * 1024 {
        return Err(CliError::Core(Error::TooLarge {
            what: path.display().to_string(),
            limit: 64 * 1024,
        }));
    }
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let looks_like_key = text
        .lines()
        .all(|l| l.starts_with("ssh-") || l.starts_with("ecdsa-") || l.starts_with("sk-"));
    if text.is_empty() || !looks_like_key {
        return Err(vm::bad(
            "--key",
            &path.display().to_string(),
            "an OpenSSH public key file (ssh-ed25519 AAAA...)",
        ));
    }
    Ok(Some(text))
}

/// The context CD's variables and files.
fn context(args: &RunInstance, hostname: &str) -> Result<Context, CliError> {
    let bad = |e: stratus_core::site::context::ContextError| CliError::Usage(e.to_string());
    let mut context = Context::new();
    context.set("HOSTNAME", hostname).map_err(bad)?;
    if let Some(key) = ssh_key(args)? {
        context.set("SSH_PUBLIC_KEY", &key).map_err(bad)?;
    }
    for (name, value) in [
        ("ETH0_IP", GUEST_IP),
        ("ETH0_MASK", GUEST_MASK),
        ("ETH0_GATEWAY", GUEST_GATEWAY),
        ("ETH0_DNS", GUEST_DNS),
    ] {
        context.set(name, value).map_err(bad)?;
    }
    for pair in &args.context {
        context
            .set_pair(pair)
            .map_err(|e| CliError::Usage(format!("--context: {e}")))?;
    }
    if let Some(script) = &args.init_script {
        let bytes = std::fs::read(script).map_err(|e| Error::io(script, e))?;
        context.add_file("init.sh", bytes, true)?;
    }
    Ok(context)
}

/// The inbound ports of the image's metadata.
fn inbound_ports(image: &LocalImage) -> Vec<u16> {
    image
        .manifest
        .as_ref()
        .map(|m| {
            m.terms
                .inbound_ports
                .iter()
                .filter_map(|p| p.trim().parse::<u16>().ok())
                .filter(|p| *p != 0)
                .collect()
        })
        .unwrap_or_default()
}

/// The VM for `image` with its overlay and CD in `dir`.
fn spec(
    args: &RunInstance,
    name: &str,
    image: &LocalImage,
    dir: &Path,
    forwards: Vec<Forward>,
    id: u32,
    readonly: &[LocalImage],
) -> Result<Spec, CliError> {
    let bus = args.vm.bus(image)?;
    let mut disks = vec![Disk {
        path: dir.join("disk.qcow2"),
        format: "qcow2".into(),
        bus,
        readonly: false,
    }];
    disks.extend(vm::persistent_disks(&args.persistent_disk, bus)?);
    for image in readonly {
        disks.push(Disk {
            path: std::fs::canonicalize(&image.path).map_err(|e| Error::io(&image.path, e))?,
            format: image.format.clone(),
            bus,
            readonly: true,
        });
    }
    Ok(Spec {
        name: name.into(),
        cpus: args.vm.cpu,
        ram_mib: args.vm.ram,
        disks,
        cdrom: (!args.no_context).then(|| dir.join("context.iso")),
        boot_cdrom: false,
        network: args.vm.network()?,
        forwards,
        mac: instance::mac_for(id),
        kernel: absolute(args.vm.kernel.as_deref())?,
        initrd: absolute(args.vm.initrd.as_deref())?,
        append: args.vm.append.clone(),
        console_log: dir.join("console.log"),
        vnc: None,
    })
}

/// The `--readonly-disk` images: obtained and checked like the image
/// (a plain disk file as it is), each in its own work directory.
fn readonly_disks(args: &RunInstance, dir: &Path) -> Result<Vec<LocalImage>, CliError> {
    args.readonly_disk
        .iter()
        .enumerate()
        .map(|(index, argument)| {
            vm::obtain(
                argument,
                &args.site,
                &dir.join(format!("readonly-{index}")),
                false,
                args.verbosity,
            )
        })
        .collect()
}

fn absolute(path: Option<&Path>) -> Result<Option<PathBuf>, CliError> {
    path.map(|p| std::fs::canonicalize(p).map_err(|e| CliError::from(Error::io(p, e))))
        .transpose()
}

/// Start the instance `id` in `dir`.
fn start(
    args: &RunInstance,
    argument: &str,
    state: &StateDir,
    id: u32,
    dir: &Path,
) -> Result<i32, CliError> {
    let image = vm::obtain(
        argument,
        &args.site,
        &dir.join("base"),
        args.vm.qcow_disk_format,
        args.verbosity,
    )?;
    let name = format!("stratus-{id}");
    let hostname = args.hostname.clone().unwrap_or_else(|| name.clone());
    if !args.no_context {
        context(args, &hostname)?.write_iso(&dir.join("context.iso"))?;
    }
    let ssh_port = instance::free_port()?;
    let mut forwards = vec![Forward {
        host: ssh_port,
        guest: 22,
    }];
    for port in inbound_ports(&image)
        .into_iter()
        .chain(args.ports.iter().copied())
    {
        if forwards.iter().all(|f| f.guest != port) {
            forwards.push(Forward {
                host: instance::free_port()?,
                guest: port,
            });
        }
    }
    let readonly = readonly_disks(args, dir)?;
    let spec = spec(args, &name, &image, dir, forwards.clone(), id, &readonly)?;
    let overlay = dir.join("disk.qcow2");
    let mut prepare = || {
        let _ = std::fs::remove_file(&overlay);
        qemu::create_overlay(&image.path, &image.format, &overlay)
    };
    let (pid, accel) = vm::boot(&spec, args.vm.accel()?, dir, &mut prepare, args.verbosity)?;
    let saving = args.save.is_some();
    let record = Record {
        id,
        name: name.clone(),
        pid,
        accel: accel.name().into(),
        cpus: spec.cpus,
        ram_mib: spec.ram_mib,
        ssh_port: Some(ssh_port),
        forwards,
        image: argument.to_string(),
        started: clock::format_utc(clock::now()),
        keeper: saving.then(std::process::id),
    };
    state.commit(&record)?;
    report(args, &record, accel, dir, saving);
    if saving || args.wait {
        let waited = vm::wait_for_power_off(pid, dir, args.wait_timeout, "the instance");
        let result = waited.and_then(|()| match &args.save {
            Some(target) => save(args, &overlay, target, &image),
            None => Ok(()),
        });
        state.remove(id);
        result?;
    }
    Ok(0)
}

/// The legacy lines: `Machine 1 (vm ID: <id>)` and the address, or
/// `<id>, <ip>` with `-q`; on stderr when stdout carries a saved image's
/// document.
fn report(args: &RunInstance, record: &Record, accel: Accel, dir: &Path, to_stderr: bool) {
    let mut text = String::new();
    if args.verbosity.quiet > 0 {
        text.push_str(&format!("{}, {GUEST_IP}\n", record.id));
    } else {
        text.push_str(&format!(
            "Machine 1 (vm ID: {})\n\tLocal ip: {GUEST_IP}\n",
            record.id
        ));
        if let Some(port) = record.ssh_port {
            text.push_str(&format!("\tssh -p {port} root@127.0.0.1\n"));
        }
        for forward in record.forwards.iter().filter(|f| f.guest != 22) {
            text.push_str(&format!(
                "\tport {} of the guest: 127.0.0.1:{}\n",
                forward.guest, forward.host
            ));
        }
        text.push_str(&format!(
            "\tconsole: {} ({})\n",
            dir.join("console.log").display(),
            accel.name()
        ));
    }
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// The guest's disk (the overlay over its base) as a new image.
fn save(
    args: &RunInstance,
    overlay: &Path,
    target: &Path,
    base: &LocalImage,
) -> Result<(), CliError> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temporary = tempfile::Builder::new()
        .prefix(".stratus-save-")
        .suffix(".qcow2")
        .tempfile_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;
    qemu::convert(overlay, "qcow2", temporary.path(), "qcow2")?;
    temporary
        .persist(target)
        .map_err(|e| Error::io(target, e.error))?;
    let bus = args.vm.bus(base)?;
    let text = vm::draft(
        target,
        "qcow2",
        bus,
        &args.draft,
        Some(base),
        args.verbosity,
    )?;
    crate::common::write_output(None, text.as_bytes())?;
    args.verbosity
        .info(format!("image saved: {}", target.display()));
    Ok(())
}

/// `--print`: the description, its overlay and CD written into
/// `--print-dir`.
fn print(args: &RunInstance, argument: &str, kind: &str) -> Result<i32, CliError> {
    let dir = &args.print_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    let image = vm::obtain(
        argument,
        &args.site,
        &dir.join("base"),
        args.vm.qcow_disk_format,
        args.verbosity,
    )?;
    let name = "stratus-instance".to_string();
    let hostname = args.hostname.clone().unwrap_or_else(|| name.clone());
    let context = if args.no_context {
        Context::new()
    } else {
        context(args, &hostname)?
    };
    if !args.no_context {
        context.write_iso(&dir.join("context.iso"))?;
    }
    let readonly = readonly_disks(args, &dir)?;
    let mut spec = spec(args, &name, &image, &dir, Vec::new(), 1, &readonly)?;
    let overlay = dir.join("disk.qcow2");
    let _ = std::fs::remove_file(&overlay);
    qemu::create_overlay(&image.path, &image.format, &overlay)?;
    let accel = match args.vm.accel()? {
        Accel::Auto => Accel::Kvm,
        other => other,
    };
    let text = match kind {
        "libvirt" => instance::libvirt_xml(&spec, accel)?,
        "opennebula" => {
            // OpenNebula makes the context CD itself from CONTEXT.
            spec.cdrom = None;
            let ports = inbound_ports(&image);
            instance::opennebula_template(
                &spec,
                &context,
                absolute(args.init_script.as_deref())?.as_deref(),
                &ports,
            )
        }
        _ => format!("{}\n", spec.shell_command(accel)),
    };
    crate::common::write_output(None, text.as_bytes())?;
    Ok(0)
}
