//! What the tests that boot the tiny guest share: the tools they need
//! (skipped with a reason when missing, failed under `STRATUS_CI=1`), the
//! guest of `guest/build.sh`, its kernel command line, and the wait for a
//! line on its serial console, the prepared tiny image and the VM options
//! every boot of it takes, and the set-up of a boot test ([`Lab`]: one
//! boot at a time, a temporary directory, a state directory). Test files
//! using it declare `mod vmkit;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The kernel command line of the test guest (its disk on NVMe, which the
/// cloud kernel has built in).
pub const APPEND: &str = "root=/dev/nvme0n1 rw console=ttyS0 quiet panic=-1";

/// Whether `tool` is on PATH; if not, a skip message, or a failure in CI.
pub fn have(tool: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()));
    if !found {
        assert!(
            !crate::common::in_ci(),
            "{tool} is missing (Debian: {package}); CI must install it"
        );
        eprintln!("skipped: {tool} is not installed (Debian: {package})");
    }
    found
}

/// Whether everything a boot test needs is here (see [`have`]).
pub fn have_boot_tools() -> bool {
    have("qemu-system-x86_64", "qemu-system-x86")
        && have("mkfs.ext4", "e2fsprogs")
        && have("genisoimage", "genisoimage")
        && have("busybox", "busybox-static")
        && have("dropbear", "dropbear-bin")
}

/// One boot at a time (two at once take twice as long on two cores). Each
/// test binary compiles this module, so each has its own lock: boots are
/// one at a time within a test binary.
static BOOTS: Mutex<()> = Mutex::new(());

/// The turn of one boot test: `None` (skipped with a reason, or failed in
/// CI, see [`have`]) when a boot tool is missing, else the lock held until
/// the guard drops. A test that panicked while holding it does not stop
/// the others.
pub fn one_boot() -> Option<MutexGuard<'static, ()>> {
    if !have_boot_tools() {
        return None;
    }
    Some(BOOTS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The set-up of a boot test: its turn ([`one_boot`]), a temporary
/// directory and the state directory `state` in it.
pub struct Lab {
    // Declared before the guard, so dropped first: the directory goes
    // while the turn is still held.
    dir: tempfile::TempDir,
    /// The instances' state directory (`STRATUS_STATE_DIR`), not created.
    pub state: PathBuf,
    _one: MutexGuard<'static, ()>,
}

impl Lab {
    /// A lab once it is this test's turn; `None` when a boot tool is
    /// missing (see [`one_boot`]).
    pub fn boot() -> Option<Lab> {
        let one = one_boot()?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = dir.path().join("state");
        Some(Lab {
            dir,
            state,
            _one: one,
        })
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The prepared tiny image `tiny.img` in the directory and its draft
    /// (see [`tiny_image`]).
    pub fn tiny_image(&self) -> (PathBuf, PathBuf) {
        tiny_image(self.dir(), "tiny.img")
    }
}

/// The test guest (kernel and root tree), built once per target directory.
pub fn guest() -> PathBuf {
    static GUEST: OnceLock<PathBuf> = OnceLock::new();
    GUEST
        .get_or_init(|| {
            let out = stratus_bin_tests::bin_dir().join("test-guest");
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/build.sh");
            let output = Command::new("sh")
                .arg(&script)
                .arg(&out)
                .output()
                .expect("sh runs");
            assert!(
                output.status.success(),
                "guest/build.sh failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            out
        })
        .clone()
}

/// The console log at `path` once it holds `line`, within two minutes.
pub fn wait_for_console(path: &Path, line: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l.trim_end() == line) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no '{line}' on the console within 120 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A test path as an argument.
pub fn s(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_string()
}

/// Arguments as owned strings.
pub fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// Run the stratus binary `name` with the state directory `state`.
pub fn stratus_in(state: &Path, name: &str, args: &[String]) -> Output {
    let mut c = stratus_bin_tests::command(name);
    c.env("STRATUS_STATE_DIR", state).args(args);
    stratus_bin_tests::run_with_input(c, b"")
}

/// The machine of every boot of the test guest: TCG, 256 MiB, NVMe disks.
pub fn machine_args() -> Vec<String> {
    strings(&["--accel", "tcg", "--ram", "256", "--vm-disks-bus", "nvme"])
}

/// The VM options of every boot of the test guest: its machine, kernel and
/// kernel command line.
pub fn vm_args(guest: &Path) -> Vec<String> {
    let mut args = machine_args();
    args.extend(strings(&[
        "--kernel",
        &s(&guest.join("vmlinuz")),
        "--append",
        APPEND,
    ]));
    args
}

/// The `stratus-create-image` arguments that make the prepared tiny image
/// `image` from the guest's tree, `location` as its location in the draft.
pub fn tiny_image_args(image: &Path, location: &str) -> Vec<String> {
    strings(&[
        "--from-dir",
        &s(&guest().join("rootfs")),
        "--prepare",
        "-o",
        &s(image),
        "--title",
        "Tiny",
        "--os",
        "busybox",
        "--location",
        location,
    ])
}

/// Make the prepared tiny image `name` in `dir` from the guest's tree, its
/// draft document beside it (`<name>.xml`, the image as its location).
pub fn tiny_image(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let image = dir.join(name);
    let out = stratus_in(dir, "stratus-create-image", &tiny_image_args(&image, name));
    assert!(
        out.status.success(),
        "create-image --from-dir --prepare failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = dir.join(format!("{name}.xml"));
    std::fs::write(&xml, &out.stdout).unwrap();
    (image, xml)
}
