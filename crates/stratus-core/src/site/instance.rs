//! Local instances under QEMU: the VM's description ([`Spec`]), its QEMU
//! command line, starting it with the accelerator that works, the state
//! directory that tracks running instances, and the same description for
//! libvirt (domain XML) and OpenNebula (VM template).
//!
//! An instance boots from a qcow2 overlay on its base image, so the base
//! is only ever read. Its network is QEMU's user-mode network, restricted
//! by default (`restrict=on`: the guest reaches nothing, not even the host)
//! with the host forwards bound to 127.0.0.1 only. Its serial console goes
//! to a log file.
//!
//! Each instance has a directory under the state directory
//! (`$STRATUS_STATE_DIR`, else `$XDG_STATE_HOME/stratus/instances`, else
//! `~/.local/state/stratus/instances`) named by its number (the legacy
//! "vm ID"): the overlay, the context CD, the console log, QEMU's pid file
//! and control socket, and `instance.json`. An instance whose QEMU is gone
//! (powered off, killed, crashed) is removed the next time the directory is
//! listed, so no stale state survives it.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The environment variable naming the QEMU program (default
/// `qemu-system-x86_64`).
pub const QEMU_VARIABLE: &str = "STRATUS_QEMU";
/// The environment variable naming the state directory.
pub const STATE_VARIABLE: &str = "STRATUS_STATE_DIR";
/// The environment variable giving how long `--accel auto` waits for a
/// KVM guest's first console output, in seconds (default 20).
pub const KVM_PROBE_VARIABLE: &str = "STRATUS_KVM_PROBE_SECONDS";

/// How the guest's CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualization; fails when KVM cannot run the guest.
    Kvm,
    /// QEMU's emulator: slower, works everywhere.
    Tcg,
    /// KVM when it actually runs the guest, else TCG.
    Auto,
}

impl Accel {
    /// Parse `kvm`, `tcg` or `auto`.
    pub fn from_name(name: &str) -> Option<Accel> {
        match name {
            "kvm" => Some(Accel::Kvm),
            "tcg" => Some(Accel::Tcg),
            "auto" => Some(Accel::Auto),
            _ => None,
        }
    }

    /// The name, as QEMU's `-accel` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
            Accel::Auto => "auto",
        }
    }
}

/// The bus a disk is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskBus {
    /// IDE (PIIX), the legacy default: every guest has the driver.
    Ide,
    /// SCSI, on a virtio-scsi controller.
    Scsi,
    /// virtio-blk.
    Virtio,
    /// NVMe (not a legacy value): what kernels without modules for the
    /// others (cloud kernels, no initrd) have built in.
    Nvme,
}

impl DiskBus {
    /// Parse `ide`, `scsi`, `virtio` or `nvme`.
    pub fn from_name(name: &str) -> Option<DiskBus> {
        match name {
            "ide" => Some(DiskBus::Ide),
            "scsi" => Some(DiskBus::Scsi),
            "virtio" => Some(DiskBus::Virtio),
            "nvme" => Some(DiskBus::Nvme),
            _ => None,
        }
    }

    /// The name, as `slterms:disks-bus` writes it.
    pub fn name(self) -> &'static str {
        match self {
            DiskBus::Ide => "ide",
            DiskBus::Scsi => "scsi",
            DiskBus::Virtio => "virtio",
            DiskBus::Nvme => "nvme",
        }
    }

    /// The device name prefix the legacy tools used (`hd`, `sd`, `vd`).
    pub fn prefix(self) -> &'static str {
        match self {
            DiskBus::Ide => "hd",
            DiskBus::Scsi => "sd",
            DiskBus::Virtio => "vd",
            DiskBus::Nvme => "nvme",
        }
    }
}

/// What the guest's network can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// User-mode network, isolated: only the host forwards reach the guest.
    Restricted,
    /// User-mode network with outbound access (through the host's network
    /// stack): for installing packages.
    Open,
    /// No network interface.
    None,
}

impl Network {
    /// Parse `restricted`, `open` or `none`.
    pub fn from_name(name: &str) -> Option<Network> {
        match name {
            "restricted" => Some(Network::Restricted),
            "open" => Some(Network::Open),
            "none" => Some(Network::None),
            _ => None,
        }
    }
}

/// The guest's address on QEMU's user-mode network, and its gateway and
/// name server there.
pub const GUEST_IP: &str = "10.0.2.15";
/// The user-mode network's mask.
pub const GUEST_MASK: &str = "255.255.255.0";
/// The user-mode network's gateway (the host).
pub const GUEST_GATEWAY: &str = "10.0.2.2";
/// The user-mode network's name server.
pub const GUEST_DNS: &str = "10.0.2.3";

/// A TCP port of the host (on 127.0.0.1) forwarded to one of the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// The port on 127.0.0.1.
    pub host: u16,
    /// The guest's port.
    pub guest: u16,
}

/// One disk of the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// The file.
    pub path: PathBuf,
    /// Its format (`qcow2`, `raw`, ...).
    pub format: String,
    /// The bus it is attached to.
    pub bus: DiskBus,
    /// Whether the guest may only read it.
    pub readonly: bool,
}

/// Everything that describes a VM, whatever runs it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its name (`stratus-<id>`).
    pub name: String,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Memory, in MiB.
    pub ram_mib: u32,
    /// The disks, the boot disk first.
    pub disks: Vec<Disk>,
    /// The context CD, or an installer's CD.
    pub cdrom: Option<PathBuf>,
    /// Boot from the CD rather than the first disk (an installer).
    pub boot_cdrom: bool,
    /// What the network reaches.
    pub network: Network,
    /// Host ports forwarded to the guest.
    pub forwards: Vec<Forward>,
    /// The NIC's MAC address.
    pub mac: String,
    /// A kernel to boot directly, its initrd and its command line.
    pub kernel: Option<PathBuf>,
    /// The initrd of `kernel`.
    pub initrd: Option<PathBuf>,
    /// The kernel command line.
    pub append: Option<String>,
    /// Where the serial console is written.
    pub console_log: PathBuf,
    /// A VNC display on 127.0.0.1 (display number), else no display.
    pub vnc: Option<u16>,
}

/// The IDE (bus, unit) places of disks: the CD takes the secondary master.
const IDE_SLOTS: [(u8, u8); 3] = [(0, 0), (0, 1), (1, 1)];

/// A path as one value of a QEMU `-drive`/`-netdev` option list, where a
/// comma must be doubled.
fn option_value(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}

impl Spec {
    /// The QEMU command line (without the program), run with `accel`, with
    /// its pid file and control socket in `control_dir` when given.
    pub fn qemu_args(&self, accel: Accel, control_dir: Option<&Path>) -> Vec<OsString> {
        let mut args: Vec<String> = vec![
            "-name".into(),
            format!(
                "{},process={}",
                self.name.replace(',', ",,"),
                self.name.replace(',', ",,")
            ),
            "-machine".into(),
            "pc".into(),
            "-accel".into(),
            // auto is resolved by the caller; tcg is the safe reading.
            if accel == Accel::Kvm { "kvm" } else { "tcg" }.into(),
            "-cpu".into(),
            if accel == Accel::Kvm { "host" } else { "max" }.into(),
            "-smp".into(),
            self.cpus.to_string(),
            "-m".into(),
            format!("{}M", self.ram_mib),
            "-nodefaults".into(),
            "-no-user-config".into(),
            "-no-reboot".into(),
        ];
        match self.vnc {
            Some(display) => args.extend([
                "-vga".into(),
                "std".into(),
                "-vnc".into(),
                format!("127.0.0.1:{display}"),
            ]),
            None => args.extend(["-display".into(), "none".into()]),
        }
        args.extend([
            "-serial".into(),
            format!("file:{}", self.console_log.display()),
        ]);
        let mut scsi = false;
        let mut ide = 0;
        for (index, disk) in self.disks.iter().enumerate() {
            let id = format!("disk{index}");
            args.push("-drive".into());
            args.push(format!(
                "file={},format={},if=none,id={id}{}",
                option_value(&disk.path),
                disk.format,
                if disk.readonly { ",readonly=on" } else { "" }
            ));
            let boot = if index == 0 && !self.boot_cdrom {
                ",bootindex=1"
            } else {
                ""
            };
            let device = match disk.bus {
                DiskBus::Ide => {
                    // hda, hdb, then hdd: hdc is the CD.
                    let (bus, unit) = IDE_SLOTS[ide.min(IDE_SLOTS.len() - 1)];
                    ide += 1;
                    format!("ide-hd,drive={id},bus=ide.{bus},unit={unit}{boot}")
                }
                DiskBus::Virtio => format!("virtio-blk-pci,drive={id}{boot}"),
                DiskBus::Nvme => format!("nvme,drive={id},serial=stratus{index}{boot}"),
                DiskBus::Scsi => {
                    if !scsi {
                        args.extend(["-device".into(), "virtio-scsi-pci,id=scsi0".into()]);
                        scsi = true;
                    }
                    format!("scsi-hd,drive={id},bus=scsi0.0{boot}")
                }
            };
            args.extend(["-device".into(), device]);
        }
        if let Some(cdrom) = &self.cdrom {
            // The secondary master, /dev/hdc to old kernels, as OpenNebula
            // attached its context CD.
            args.push("-drive".into());
            args.push(format!(
                "file={},format=raw,media=cdrom,if=none,id=cd0,readonly=on",
                option_value(cdrom)
            ));
            let boot = if self.boot_cdrom { ",bootindex=0" } else { "" };
            args.extend([
                "-device".into(),
                format!("ide-cd,drive=cd0,bus=ide.1,unit=0{boot}"),
            ]);
        }
        if self.network != Network::None {
            let mut netdev = String::from("user,id=net0");
            if self.network == Network::Restricted {
                netdev.push_str(",restrict=on");
            }
            for forward in &self.forwards {
                let _ = write!(
                    netdev,
                    ",hostfwd=tcp:127.0.0.1:{}-:{}",
                    forward.host, forward.guest
                );
            }
            args.extend([
                "-netdev".into(),
                netdev,
                "-device".into(),
                format!("virtio-net-pci,netdev=net0,mac={}", self.mac),
            ]);
        }
        if let Some(kernel) = &self.kernel {
            args.extend(["-kernel".into(), kernel.display().to_string()]);
        }
        if let Some(initrd) = &self.initrd {
            args.extend(["-initrd".into(), initrd.display().to_string()]);
        }
        if let Some(append) = &self.append {
            args.extend(["-append".into(), append.clone()]);
        }
        let mut args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
        if let Some(dir) = control_dir {
            args.push("-pidfile".into());
            args.push(dir.join("qemu.pid").into_os_string());
            let socket = dir.join("qmp.sock");
            // A Unix socket path has at most 107 bytes.
            if socket.as_os_str().len() < 100 {
                let mut qmp = OsString::from("unix:");
                qmp.push(socket.as_os_str());
                qmp.push(",server=on,wait=off");
                args.push("-qmp".into());
                args.push(qmp);
            }
            args.push("-daemonize".into());
        }
        args
    }

    /// The whole command line as a shell would take it, for messages and
    /// `--print qemu`.
    pub fn shell_command(&self, accel: Accel) -> String {
        let mut line = qemu_program();
        for arg in self.qemu_args(accel, None) {
            line.push(' ');
            line.push_str(&crate::site::context::shell_quote(&arg.to_string_lossy()));
        }
        line
    }
}

fn qemu_program() -> String {
    std::env::var(QEMU_VARIABLE).unwrap_or_else(|_| "qemu-system-x86_64".to_string())
}

/// Whether this process may open `/dev/kvm` for reading and writing.
pub fn kvm_device_usable() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// Start QEMU for `spec` in the background (`-daemonize`), its pid file and
/// control socket in `dir`; `prepare` (re)makes the disks QEMU writes
/// (the overlay) before each start. With [`Accel::Auto`], KVM is used only
/// when it starts the guest: QEMU must start, and the guest's console must
/// show output within the probe time (`STRATUS_KVM_PROBE_SECONDS`, default
/// 20 s); otherwise that QEMU is stopped, `warn` is told why, and the guest
/// starts again under TCG. Returns QEMU's pid and the accelerator used.
pub fn start(
    spec: &Spec,
    accel: Accel,
    dir: &Path,
    prepare: &mut dyn FnMut() -> Result<()>,
    warn: &mut dyn FnMut(String),
) -> Result<(u32, Accel)> {
    match accel {
        Accel::Kvm | Accel::Tcg => {
            prepare()?;
            Ok((launch(spec, accel, dir)?, accel))
        }
        Accel::Auto => {
            if !kvm_device_usable() {
                prepare()?;
                return Ok((launch(spec, Accel::Tcg, dir)?, Accel::Tcg));
            }
            prepare()?;
            match launch(spec, Accel::Kvm, dir) {
                Ok(pid) => match probe_kvm(spec, pid) {
                    Ok(()) => return Ok((pid, Accel::Kvm)),
                    Err(why) => {
                        stop_pid(pid, dir);
                        warn(format!("KVM did not run the guest ({why}): using TCG"));
                    }
                },
                Err(error) => warn(format!(
                    "KVM could not start the guest ({error}): using TCG"
                )),
            }
            let _ = std::fs::remove_file(&spec.console_log);
            prepare()?;
            Ok((launch(spec, Accel::Tcg, dir)?, Accel::Tcg))
        }
    }
}

/// Wait for a KVM guest's first console output.
fn probe_kvm(spec: &Spec, pid: u32) -> std::result::Result<(), String> {
    let seconds = std::env::var(KVM_PROBE_VARIABLE)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(20);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if std::fs::metadata(&spec.console_log).is_ok_and(|m| m.len() > 0) {
            return Ok(());
        }
        if !pid_alive(pid) {
            return Err("QEMU stopped".into());
        }
        if Instant::now() >= deadline {
            return Err(format!("no console output in {seconds} s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Run QEMU with `-daemonize`: it returns once the VM is set up (or has
/// failed to be, with its message), leaving the VM running.
fn launch(spec: &Spec, accel: Accel, dir: &Path) -> Result<u32> {
    let program = qemu_program();
    let pidfile = dir.join("qemu.pid");
    let _ = std::fs::remove_file(&pidfile);
    let output = Command::new(&program)
        .args(spec.qemu_args(accel, Some(dir)))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Tool {
            tool: "qemu-system-x86_64",
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("'{program}' was not found; install QEMU (Debian: qemu-system-x86)")
            } else {
                format!("could not run '{program}': {e}")
            },
        })?;
    if !output.status.success() {
        return Err(Error::Tool {
            tool: "qemu-system-x86_64",
            message: format!(
                "the VM did not start with {}: {}",
                accel.name(),
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }
    std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| Error::Tool {
            tool: "qemu-system-x86_64",
            message: format!("QEMU started but wrote no pid to {}", pidfile.display()),
        })
}

/// Whether process `pid` exists (and is not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Whether `pid` is the QEMU of the instance in `dir` (its command line
/// names the directory), so that a reused pid is never signalled.
fn is_our_qemu(pid: u32, dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let needle = dir.join("qemu.pid");
    let needle = needle.as_os_str().as_encoded_bytes();
    cmdline.windows(needle.len()).any(|w| w == needle)
}

/// Wait until `pid` is gone, at most `timeout`; whether it is.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while pid_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// Stop the QEMU `pid` of the instance in `dir`: `quit` on its control
/// socket, else SIGTERM, then SIGKILL after 5 s.
pub fn stop_pid(pid: u32, dir: &Path) {
    if !pid_alive(pid) || !is_our_qemu(pid, dir) {
        return;
    }
    let _ = qmp_quit(&dir.join("qmp.sock"));
    if wait_gone(pid, Duration::from_secs(5)) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    if wait_gone(pid, Duration::from_secs(5)) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    wait_gone(pid, Duration::from_secs(5));
}

/// Send `quit` on a QMP socket.
fn qmp_quit(socket: &Path) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::os::unix::net::UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?; // the greeting
    let mut writer = stream;
    writer.write_all(b"{\"execute\":\"qmp_capabilities\"}\n")?;
    line.clear();
    reader.read_line(&mut line)?;
    writer.write_all(b"{\"execute\":\"quit\"}\n")?;
    Ok(())
}

/// A free TCP port on 127.0.0.1 (bound and released: QEMU binds it next).
pub fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1:0", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("127.0.0.1:0", e))
}

/// A locally administered MAC address in QEMU's range for instance `id`.
pub fn mac_for(id: u32) -> String {
    format!("52:54:00:5a:{:02x}:{:02x}", (id >> 8) & 0xff, id & 0xff)
}

/// What `instance.json` records about a running instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The instance number (the legacy vm ID).
    pub id: u32,
    /// Its name.
    pub name: String,
    /// QEMU's pid.
    pub pid: u32,
    /// The accelerator it runs with.
    pub accel: String,
    /// Virtual CPUs and memory (MiB).
    pub cpus: u32,
    /// Memory, in MiB.
    pub ram_mib: u32,
    /// The host port forwarded to the guest's SSH port, if any.
    pub ssh_port: Option<u16>,
    /// Every host forward.
    pub forwards: Vec<Forward>,
    /// What the base image was, as the user named it.
    pub image: String,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// The pid of a `stratus-run-instance --save` waiting for the guest to
    /// stop (the state is kept for it).
    pub keeper: Option<u32>,
}

impl Record {
    fn to_json(&self) -> String {
        let forwards: Vec<serde_json::Value> = self
            .forwards
            .iter()
            .map(|f| serde_json::json!({ "host": f.host, "guest": f.guest }))
            .collect();
        let value = serde_json::json!({
            "id": self.id,
            "name": self.name,
            "pid": self.pid,
            "accel": self.accel,
            "cpus": self.cpus,
            "ram_mib": self.ram_mib,
            "ssh_port": self.ssh_port,
            "forwards": forwards,
            "image": self.image,
            "started": self.started,
            "keeper": self.keeper,
        });
        format!("{value:#}\n")
    }

    fn from_json(text: &str) -> Option<Record> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let number = |key: &str| value.get(key)?.as_u64();
        let text = |key: &str| Some(value.get(key)?.as_str()?.to_string());
        let forwards = value
            .get("forwards")?
            .as_array()?
            .iter()
            .map(|f| {
                Some(Forward {
                    host: u16::try_from(f.get("host")?.as_u64()?).ok()?,
                    guest: u16::try_from(f.get("guest")?.as_u64()?).ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Record {
            id: u32::try_from(number("id")?).ok()?,
            name: text("name")?,
            pid: u32::try_from(number("pid")?).ok()?,
            accel: text("accel")?,
            cpus: u32::try_from(number("cpus")?).ok()?,
            ram_mib: u32::try_from(number("ram_mib")?).ok()?,
            ssh_port: number("ssh_port").and_then(|p| u16::try_from(p).ok()),
            forwards,
            image: text("image")?,
            started: text("started")?,
            keeper: number("keeper").and_then(|p| u32::try_from(p).ok()),
        })
    }

    /// The JSON object `stratus-describe-instance --json` prints.
    pub fn json_value(&self, dir: &Path) -> serde_json::Value {
        let mut value: serde_json::Value =
            serde_json::from_str(&self.to_json()).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "console".into(),
                dir.join("console.log").display().to_string().into(),
            );
        }
        value
    }
}

/// The directory of instance directories.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// The file a starting instance's directory holds until `instance.json` is
/// written: the pid of the command starting it.
const STARTING: &str = "starting.pid";

impl StateDir {
    /// The state directory of this user (see the module documentation).
    pub fn from_env() -> Result<StateDir> {
        let root = if let Some(dir) = std::env::var_os(STATE_VARIABLE).filter(|d| !d.is_empty()) {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(dir).join("stratus/instances")
        } else if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(home).join(".local/state/stratus/instances")
        } else {
            return Err(Error::BadValue {
                option: STATE_VARIABLE.into(),
                value: String::new(),
                expected: "a state directory: set STRATUS_STATE_DIR, XDG_STATE_HOME or HOME".into(),
            });
        };
        Ok(StateDir { root })
    }

    /// A state directory at `root`.
    pub fn at(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// The directory of instance `id`.
    pub fn dir(&self, id: u32) -> PathBuf {
        self.root.join(id.to_string())
    }

    /// Reserve the lowest free instance number: its directory is made
    /// (atomically, so two commands never share one) holding this process's
    /// pid until [`StateDir::commit`].
    pub fn allocate(&self) -> Result<(u32, PathBuf)> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        self.reap();
        for id in 1..=u32::from(u16::MAX) {
            let dir = self.dir(id);
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    let starting = dir.join(STARTING);
                    std::fs::write(&starting, std::process::id().to_string())
                        .map_err(|e| Error::io(&starting, e))?;
                    return Ok((id, dir));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&dir, e)),
            }
        }
        Err(Error::io(
            &self.root,
            std::io::Error::other("no free instance number"),
        ))
    }

    /// Record a started instance (atomically: a temporary file, a rename).
    pub fn commit(&self, record: &Record) -> Result<()> {
        let dir = self.dir(record.id);
        let path = dir.join("instance.json");
        let temporary = dir.join(".instance.json.new");
        std::fs::write(&temporary, record.to_json()).map_err(|e| Error::io(&temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| Error::io(&path, e))?;
        let _ = std::fs::remove_file(dir.join(STARTING));
        Ok(())
    }

    /// Remove instance `id`'s directory (its QEMU already gone).
    pub fn remove(&self, id: u32) {
        let _ = std::fs::remove_dir_all(self.dir(id));
    }

    /// The running instances, by number. Instances whose QEMU is gone, and
    /// directories whose starting command died, are removed first.
    pub fn list(&self) -> Vec<Record> {
        self.reap();
        let mut records: Vec<Record> = self
            .entries()
            .into_iter()
            .filter_map(|(_, dir)| {
                let text = std::fs::read_to_string(dir.join("instance.json")).ok()?;
                Record::from_json(&text)
            })
            .collect();
        records.sort_by_key(|r| r.id);
        records
    }

    /// The running instance `id`, if there is one.
    pub fn get(&self, id: u32) -> Option<Record> {
        self.list().into_iter().find(|r| r.id == id)
    }

    /// Stop instance `id` and remove its state; `false` if there is no
    /// such instance.
    pub fn kill(&self, id: u32) -> bool {
        let dir = self.dir(id);
        let Some(record) = std::fs::read_to_string(dir.join("instance.json"))
            .ok()
            .and_then(|t| Record::from_json(&t))
        else {
            return false;
        };
        stop_pid(record.pid, &dir);
        self.remove(id);
        true
    }

    fn entries(&self) -> Vec<(u32, PathBuf)> {
        let Ok(read) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        read.filter_map(|entry| {
            let entry = entry.ok()?;
            let id: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((id, entry.path()))
        })
        .collect()
    }

    /// Remove what no live process stands behind.
    fn reap(&self) {
        for (_, dir) in self.entries() {
            if let Ok(text) = std::fs::read_to_string(dir.join(STARTING)) {
                let starter = text.trim().parse::<u32>().ok();
                if starter.is_some_and(pid_alive) {
                    continue;
                }
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            }
            let record = std::fs::read_to_string(dir.join("instance.json"))
                .ok()
                .and_then(|t| Record::from_json(&t));
            let alive = match &record {
                Some(r) => {
                    (pid_alive(r.pid) && is_our_qemu(r.pid, &dir))
                        || r.keeper.is_some_and(pid_alive)
                }
                None => false,
            };
            if !alive {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
}

/// The libvirt domain XML for `spec` (type `kvm`, or `qemu` for TCG).
pub fn libvirt_xml(spec: &Spec, accel: Accel) -> Result<String> {
    let options = xmlwriter::Options {
        indent: xmlwriter::Indent::Spaces(2),
        ..xmlwriter::Options::default()
    };
    let mut w = xmlwriter::XmlWriter::new(options);
    w.start_element("domain");
    w.write_attribute("type", if accel == Accel::Tcg { "qemu" } else { "kvm" });
    text_element(&mut w, "name", &spec.name);
    w.start_element("memory");
    w.write_attribute("unit", "MiB");
    text_and_end(&mut w, &spec.ram_mib.to_string());
    text_element(&mut w, "vcpu", &spec.cpus.to_string());
    w.start_element("os");
    w.start_element("type");
    w.write_attribute("arch", "x86_64");
    w.write_attribute("machine", "pc");
    text_and_end(&mut w, "hvm");
    if let Some(kernel) = &spec.kernel {
        text_element(&mut w, "kernel", &kernel.display().to_string());
    }
    if let Some(initrd) = &spec.initrd {
        text_element(&mut w, "initrd", &initrd.display().to_string());
    }
    if let Some(append) = &spec.append {
        text_element(&mut w, "cmdline", append);
    }
    if spec.kernel.is_none() {
        w.start_element("boot");
        w.write_attribute("dev", if spec.boot_cdrom { "cdrom" } else { "hd" });
        w.end_element();
    }
    w.end_element();
    w.start_element("features");
    w.start_element("acpi");
    w.end_element();
    w.end_element();
    w.start_element("devices");
    let mut counts = [0u8; 3];
    for disk in &spec.disks {
        let (bus, slot) = match disk.bus {
            DiskBus::Ide => ("ide", 0),
            DiskBus::Scsi => ("scsi", 1),
            DiskBus::Virtio => ("virtio", 2),
            DiskBus::Nvme => {
                return Err(Error::BadValue {
                    option: "--vm-disks-bus".into(),
                    value: "nvme".into(),
                    expected: "ide, scsi or virtio for a libvirt domain".into(),
                })
            }
        };
        let mut letter = char::from(b'a' + counts[slot]);
        if disk.bus == DiskBus::Ide && letter >= 'c' {
            letter = char::from(u8::try_from(letter).unwrap_or(b'c') + 1);
        }
        counts[slot] += 1;
        disk_element(
            &mut w,
            "disk",
            &disk.format,
            &disk.path,
            &format!("{}{letter}", disk.bus.prefix()),
            bus,
            disk.readonly,
        );
    }
    if let Some(cdrom) = &spec.cdrom {
        disk_element(&mut w, "cdrom", "raw", cdrom, "hdc", "ide", true);
    }
    if counts[1] > 0 {
        w.start_element("controller");
        w.write_attribute("type", "scsi");
        w.write_attribute("model", "virtio-scsi");
        w.end_element();
    }
    if spec.network != Network::None {
        w.start_element("interface");
        w.write_attribute("type", "user");
        w.start_element("mac");
        w.write_attribute("address", &spec.mac);
        w.end_element();
        w.start_element("model");
        w.write_attribute("type", "virtio");
        w.end_element();
        w.end_element();
    }
    w.start_element("serial");
    w.write_attribute("type", "file");
    w.start_element("source");
    w.write_attribute("path", &spec.console_log.display().to_string());
    w.end_element();
    w.start_element("target");
    w.write_attribute("port", "0");
    w.end_element();
    w.end_element();
    w.end_element();
    w.end_element();
    let mut xml = w.end_document();
    xml.push('\n');
    Ok(xml)
}

fn text_element(w: &mut xmlwriter::XmlWriter, name: &str, text: &str) {
    w.start_element(name);
    text_and_end(w, text);
}

/// Text and the end tag on the line of the start tag: libvirt reads the
/// whitespace an indented text would add as part of the value.
fn text_and_end(w: &mut xmlwriter::XmlWriter, text: &str) {
    w.set_preserve_whitespaces(true);
    w.write_text(text);
    w.end_element();
    w.set_preserve_whitespaces(false);
}

fn disk_element(
    w: &mut xmlwriter::XmlWriter,
    device: &str,
    format: &str,
    path: &Path,
    target: &str,
    bus: &str,
    readonly: bool,
) {
    w.start_element("disk");
    w.write_attribute("type", "file");
    w.write_attribute("device", device);
    w.start_element("driver");
    w.write_attribute("name", "qemu");
    w.write_attribute("type", format);
    w.end_element();
    w.start_element("source");
    w.write_attribute("file", &path.display().to_string());
    w.end_element();
    w.start_element("target");
    w.write_attribute("dev", target);
    w.write_attribute("bus", bus);
    w.end_element();
    if readonly {
        w.start_element("readonly");
        w.end_element();
    }
    w.end_element();
}

/// A value of an OpenNebula template, double-quoted (`\` and `"` escaped).
fn one_value(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The OpenNebula VM template for `spec`, with its context variables and
/// `init_script` (a file path the front end can read) as the CONTEXT
/// section; the inbound ports are listed as the legacy StratusLab
/// templates did (`INBOUND_PORTS`).
pub fn opennebula_template(
    spec: &Spec,
    context: &crate::site::context::Context,
    init_script: Option<&Path>,
    inbound_ports: &[u16],
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "NAME = {}", one_value(&spec.name));
    let _ = writeln!(t, "CPU = {}", spec.cpus);
    let _ = writeln!(t, "VCPU = {}", spec.cpus);
    let _ = writeln!(t, "MEMORY = {}", spec.ram_mib);
    for (index, disk) in spec.disks.iter().enumerate() {
        let letter = char::from(b'a' + index as u8);
        let _ = writeln!(
            t,
            "DISK = [\n  SOURCE = {},\n  DRIVER = {},\n  TARGET = {},\n  DEV_PREFIX = {},\n  READONLY = {} ]",
            one_value(&disk.path.display().to_string()),
            one_value(&disk.format),
            one_value(&format!("{}{letter}", disk.bus.prefix())),
            one_value(disk.bus.prefix()),
            one_value(if disk.readonly { "YES" } else { "NO" }),
        );
    }
    if spec.network != Network::None {
        let _ = writeln!(
            t,
            "NIC = [\n  MAC = {},\n  MODEL = \"virtio\" ]",
            one_value(&spec.mac)
        );
    }
    if !inbound_ports.is_empty() {
        let ports: Vec<String> = inbound_ports.iter().map(u16::to_string).collect();
        let _ = writeln!(t, "INBOUND_PORTS = {}", one_value(&ports.join(",")));
    }
    let mut os = Vec::new();
    if let Some(kernel) = &spec.kernel {
        os.push(format!(
            "KERNEL = {}",
            one_value(&kernel.display().to_string())
        ));
    }
    if let Some(initrd) = &spec.initrd {
        os.push(format!(
            "INITRD = {}",
            one_value(&initrd.display().to_string())
        ));
    }
    if let Some(append) = &spec.append {
        os.push(format!("KERNEL_CMD = {}", one_value(append)));
    }
    if !os.is_empty() {
        let _ = writeln!(t, "OS = [\n  {} ]", os.join(",\n  "));
    }
    let _ = writeln!(t, "GRAPHICS = [ TYPE = \"vnc\", LISTEN = \"127.0.0.1\" ]");
    let mut entries: Vec<String> = context
        .variables()
        .iter()
        .map(|(name, value)| format!("{name} = {}", one_value(value)))
        .collect();
    if let Some(script) = init_script {
        entries.push(format!(
            "FILES = {}",
            one_value(&script.display().to_string())
        ));
    }
    entries.push("TARGET = \"hdc\"".into());
    let _ = writeln!(t, "CONTEXT = [\n  {} ]", entries.join(",\n  "));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            name: "stratus-7".into(),
            cpus: 2,
            ram_mib: 256,
            disks: vec![Disk {
                path: "/state/7/disk, one.qcow2".into(),
                format: "qcow2".into(),
                bus: DiskBus::Virtio,
                readonly: false,
            }],
            cdrom: Some("/state/7/context.iso".into()),
            boot_cdrom: false,
            network: Network::Restricted,
            forwards: vec![Forward {
                host: 40022,
                guest: 22,
            }],
            mac: mac_for(7),
            kernel: None,
            initrd: None,
            append: None,
            console_log: "/state/7/console.log".into(),
            vnc: None,
        }
    }

    #[test]
    fn command_line_restricts_the_network_and_binds_loopback() {
        let args: Vec<String> = spec()
            .qemu_args(Accel::Tcg, None)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        let line = args.join(" ");
        assert!(
            line.contains("user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22"),
            "{line}"
        );
        assert!(
            line.contains("file=/state/7/disk,, one.qcow2,format=qcow2"),
            "{line}"
        );
        assert!(line.contains("-accel tcg -cpu max"), "{line}");
        assert!(line.contains("ide-cd,drive=cd0,bus=ide.1,unit=0"), "{line}");
        assert!(!line.contains("-daemonize"));
        assert_eq!(mac_for(7), "52:54:00:5a:00:07");
    }

    #[test]
    fn records_round_trip() {
        let record = Record {
            id: 3,
            name: "stratus-3".into(),
            pid: 1234,
            accel: "tcg".into(),
            cpus: 1,
            ram_mib: 512,
            ssh_port: Some(40000),
            forwards: vec![Forward {
                host: 40000,
                guest: 22,
            }],
            image: "tiny.img".into(),
            started: "2026-01-15T10:20:30Z".into(),
            keeper: None,
        };
        assert_eq!(Record::from_json(&record.to_json()), Some(record));
    }

    #[test]
    fn stale_state_is_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::at(dir.path());
        let (id, path) = state.allocate().unwrap();
        assert_eq!(id, 1);
        // Ours, still starting: kept.
        assert!(path.is_dir());
        let (second, _) = state.allocate().unwrap();
        assert_eq!(second, 2);
        // A record whose QEMU is gone: removed on listing.
        state
            .commit(&Record {
                id,
                name: "stratus-1".into(),
                pid: u32::MAX - 1,
                accel: "tcg".into(),
                cpus: 1,
                ram_mib: 64,
                ssh_port: None,
                forwards: vec![],
                image: "x".into(),
                started: "2026-01-15T10:20:30Z".into(),
                keeper: None,
            })
            .unwrap();
        assert!(state.list().is_empty());
        assert!(!path.exists());
        // A starting directory whose command died: removed too.
        std::fs::write(state.dir(2).join(STARTING), (u32::MAX - 1).to_string()).unwrap();
        state.list();
        assert!(!state.dir(2).exists());
    }

    #[test]
    fn opennebula_values_are_quoted() {
        let mut context = crate::site::context::Context::new();
        context.set("NOTE", "say \"hi\" \\ bye").unwrap();
        let template = opennebula_template(&spec(), &context, None, &[22, 80]);
        assert!(
            template.contains("NOTE = \"say \\\"hi\\\" \\\\ bye\""),
            "{template}"
        );
        assert!(template.contains("INBOUND_PORTS = \"22,80\""));
        assert!(template.contains("TARGET = \"vda\""));
    }
}
