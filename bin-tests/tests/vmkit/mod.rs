//! What the tests that boot the tiny guest share: the tools they need
//! (skipped with a reason when missing, failed under `STRATUS_CI=1`), the
//! guest of `guest/build.sh`, its kernel command line, and the wait for a
//! line on its serial console, the prepared tiny image and the VM options
//! every boot of it takes. Test files using it declare `mod vmkit;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
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
            std::env::var("STRATUS_CI").as_deref() != Ok("1"),
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

/// Run the stratus binary `name` with the state directory `state`.
pub fn stratus_in(state: &Path, name: &str, args: &[String]) -> Output {
    let mut c = stratus_bin_tests::command(name);
    c.env("STRATUS_STATE_DIR", state).args(args);
    stratus_bin_tests::run_with_input(c, b"")
}

/// The VM options of every boot of the test guest.
pub fn vm_args(guest: &Path) -> Vec<String> {
    [
        "--accel",
        "tcg",
        "--ram",
        "256",
        "--vm-disks-bus",
        "nvme",
        "--kernel",
        &s(&guest.join("vmlinuz")),
        "--append",
        APPEND,
    ]
    .map(String::from)
    .to_vec()
}

/// Make the prepared tiny image `name` in `dir` from the guest's tree, its
/// draft document beside it (`<name>.xml`, the image as its location).
pub fn tiny_image(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let image = dir.join(name);
    let out = stratus_in(
        dir,
        "stratus-create-image",
        &[
            "--from-dir".into(),
            s(&guest().join("rootfs")),
            "--prepare".into(),
            "-o".into(),
            s(&image),
            "--title".into(),
            "Tiny".into(),
            "--os".into(),
            "busybox".into(),
            "--location".into(),
            name.into(),
        ],
    );
    assert!(
        out.status.success(),
        "create-image --from-dir --prepare failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = dir.join(format!("{name}.xml"));
    std::fs::write(&xml, &out.stdout).unwrap();
    (image, xml)
}
