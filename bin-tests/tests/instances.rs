//! Images and instances with a real guest: `stratus-create-image` and
//! `stratus-run-instance` boot the tiny Linux guest of `guest/build.sh`
//! (Debian's cloud kernel, a busybox-static root with dropbear) under QEMU
//! with TCG, and the guest's serial console and an SSH login show what the
//! preparation kit did with the context CD. The kit's scripts are also
//! checked with shellcheck and run against root trees on the host.
//!
//! Boots run one at a time (two at once take twice as long on two cores)
//! and each is bounded: a guest that does not reach its `tiny: ready` line
//! within two minutes fails the test. Without QEMU, shellcheck, mkfs.ext4,
//! genisoimage or dropbear a test says why and is skipped, unless
//! `STRATUS_CI=1`, where it fails.

mod common;
mod vmkit;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use vmkit::{guest, have, s, stratus_in, strings, vm_args, wait_for_console, Lab};

const CREATE: &str = "stratus-create-image";
const RUN: &str = "stratus-run-instance";
const DESCRIBE: &str = "stratus-describe-instance";
const KILL: &str = "stratus-kill-instance";

fn sha256(path: &Path) -> String {
    coreutils_digest("sha256sum", path)
}

/// The instance records `stratus-describe-instance --json` lists.
fn instances(state: &Path) -> Vec<serde_json::Value> {
    let out = stratus_in(state, DESCRIBE, &["--json".into()]);
    assert_ok(&out, "describe-instance --json");
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn wait_until_no_instance(state: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !instances(state).is_empty() {
        assert!(Instant::now() < deadline, "the instance did not go away");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_kit_passes_shellcheck() {
    if !have("shellcheck", "shellcheck") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scripts = [
        "kit/stratus-context",
        "kit/stratus-firstboot",
        "kit/install.sh",
        "bin-tests/guest/build.sh",
    ];
    let mut c = Command::new("shellcheck");
    c.args(["--shell=sh", "--severity=style"]);
    for script in scripts.iter().chain(["kit/rc.local.fragment"].iter()) {
        c.arg(root.join(script));
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_kit_installs_into_root_trees_once() {
    let dir = tempfile::tempdir().unwrap();
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kit");
    // A tree without systemd, whose rc.local ends with exit 0.
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(plain.join("etc/ssh")).unwrap();
    std::fs::write(plain.join("etc/rc.local"), "#!/bin/sh\necho mine\nexit 0\n").unwrap();
    std::fs::write(plain.join("etc/ssh/ssh_host_rsa_key"), "secret").unwrap();
    for _ in 0..2 {
        let out = Command::new("sh")
            .arg(kit.join("install.sh"))
            .arg(&plain)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rc = std::fs::read_to_string(plain.join("etc/rc.local")).unwrap();
    assert_eq!(rc.matches("# stratus: first-boot").count(), 1, "{rc}");
    assert!(rc.starts_with("#!/bin/sh\necho mine\n"), "{rc}");
    assert!(rc.trim_end().ends_with("exit 0"), "{rc}");
    assert!(rc.find("stratus-firstboot").unwrap() < rc.find("exit 0").unwrap());
    assert!(plain.join("usr/sbin/stratus-context").is_file());
    assert!(!plain.join("etc/ssh/ssh_host_rsa_key").exists());
    assert!(!plain.join("etc/systemd").exists());

    // A systemd tree: the units are enabled, rc.local is left alone.
    let systemd = dir.path().join("systemd");
    std::fs::create_dir_all(systemd.join("lib/systemd")).unwrap();
    std::fs::create_dir_all(systemd.join("sbin")).unwrap();
    std::os::unix::fs::symlink("/lib/systemd/systemd", systemd.join("sbin/init")).unwrap();
    let out = Command::new("sh")
        .arg(kit.join("install.sh"))
        .arg(&systemd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wants = systemd.join("etc/systemd/system/multi-user.target.wants");
    assert!(wants.join("stratus-context.service").exists());
    assert!(wants.join("stratus-firstboot.service").exists());
    assert!(!systemd.join("etc/rc.local").exists());
}

#[test]
fn the_first_boot_randomises_roots_password_portably() {
    if !have("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/shadow"),
        "root:$6$old$hash:19000:0:99999:7:::\nbin:*:19000::::::\n",
    )
    .unwrap();
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kit");
    let run = || {
        let out = Command::new("sh")
            .arg(kit.join("stratus-firstboot"))
            .env("STRATUS_FIRSTBOOT_ROOT", root)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = run();
    assert!(said.contains("root's password randomised"), "{said}");
    let shadow = std::fs::read_to_string(root.join("etc/shadow")).unwrap();
    let hash = shadow
        .lines()
        .next()
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .to_string();
    assert!(hash.starts_with("$6$") && hash != "$6$old$hash", "{shadow}");
    assert!(shadow.contains("\nbin:*:19000::::::\n"));
    assert!(root.join("var/lib/stratus/firstboot.done").is_file());
    // Only on the first boot.
    assert!(!run().contains("randomised"));
    let again = std::fs::read_to_string(root.join("etc/shadow")).unwrap();
    assert!(again.contains(&hash));
}

#[test]
fn create_image_from_scratch_makes_blank_disks_and_leaves_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["raw", "qcow2"] {
        let image = dir.path().join(format!("blank.{format}"));
        let out = stratus_in(
            dir.path(),
            CREATE,
            &strings(&["--size", "16M", "--format", format, "-o", &s(&image)]),
        );
        assert_ok(&out, "create-image --size");
        let info = tool("qemu-img", &["info", "--output=json", &s(&image)]);
        let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
        assert_eq!(info["format"], format);
        assert_eq!(info["virtual-size"], 16 << 20);
        assert_eq!(term(&out.stdout, DCTERMS, "format"), format);
    }
    // Refusals leave no file.
    let target = dir.path().join("never.img");
    let out = stratus_in(
        dir.path(),
        CREATE,
        &strings(&[
            "--from-dir",
            &s(&dir.path().join("missing")),
            "-o",
            &s(&target),
        ]),
    );
    assert_code(&out, 2, "create-image --from-dir missing");
    assert!(stderr(&out).contains("--from-dir"), "{}", stderr(&out));
    let out = stratus_in(dir.path(), CREATE, &["-o".into(), s(&target)]);
    assert_code(&out, 2, "create-image without a source");
    let out = stratus_in(
        dir.path(),
        CREATE,
        &["--size".into(), "nonsense".into(), "-o".into(), s(&target)],
    );
    assert_code(&out, 255, "create-image --size nonsense");
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".stratus"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_prepared_guest_applies_its_context_and_takes_an_ssh_login() {
    let Some(lab) = Lab::boot() else {
        return;
    };
    if !have("dbclient", "dropbear-bin") {
        return;
    }
    let d = lab.dir();
    let state = &lab.state;
    let (image, draft) = lab.tiny_image();
    // Signed, as a site receives it.
    let signed = d.join("tiny.signed.xml");
    let out = stratus(
        "stratus-sign-metadata",
        &strings(&[
            "--p12-cert",
            &s(&fixtures().join("test.p12")),
            "--p12-password",
            "XYZXYZ",
            "-o",
            &s(&signed),
            &s(&draft),
        ]),
    );
    assert_ok(&out, "sign-metadata");
    let before = sha256(&image);

    let key = d.join("key");
    let made = Command::new("dropbearkey")
        .args(["-t", "ed25519", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let public = Command::new("dropbearkey")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .unwrap();
    let public = String::from_utf8_lossy(&public.stdout)
        .lines()
        .find(|l| l.starts_with("ssh-"))
        .unwrap()
        .to_string();
    std::fs::write(d.join("key.pub"), format!("{public}\n")).unwrap();
    std::fs::write(
        d.join("init.sh"),
        "echo \"init.sh ran: ROLE=$ROLE\"\nprintf '%s' \"$NOTE\" > /root/note\n",
    )
    .unwrap();
    let hostile = "it's \"$(touch /pwned)\" `touch /pwned2`\nsecond line; touch /pwned3";
    let mut args = strings(&[
        &s(&signed),
        "--hostname",
        "guest-one",
        "--key",
        &s(&d.join("key.pub")),
        "--context",
        "ROLE=web",
        "--context",
        &format!("NOTE={hostile}"),
        "--init-script",
        &s(&d.join("init.sh")),
    ]);
    args.extend(vm_args(&guest()));
    // --save: the command waits for the guest to power off, then saves its
    // disk as a new image, the document on stdout.
    let saved = d.join("saved.qcow2");
    args.extend(["--save".into(), s(&saved), "--title".into(), "Saved".into()]);
    let mut c = command(RUN);
    c.env("STRATUS_STATE_DIR", state)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let listed = instances(state);
        if !listed.is_empty() {
            break listed;
        }
        assert!(Instant::now() < deadline, "the instance was never recorded");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], 1);
    assert!(listed[0]["keeper"].is_u64(), "{:?}", listed[0]);
    let port = u16::try_from(listed[0]["ssh_port"].as_u64().unwrap()).unwrap();
    let console = PathBuf::from(listed[0]["console"].as_str().unwrap());

    let log = wait_for_console(&console, "tiny: ready");
    for line in [
        "stratus-firstboot: root's password randomised",
        "stratus-firstboot: SSH server dropbear started",
        "stratus-context: hostname set to guest-one",
        "stratus-context: root's authorized_keys holds 1 key(s)",
        "stratus-context: eth0: 10.0.2.15/24 via 10.0.2.2",
        "stratus-context: running init.sh",
        "init.sh ran: ROLE=web",
        "stratus-context: init.sh exited with 0",
    ] {
        assert!(
            log.lines().any(|l| l.trim_end() == line),
            "no '{line}' in:\n{log}"
        );
    }

    let ssh = |command: &str| {
        Command::new("timeout")
            .args(["60", "dbclient", "-y", "-y", "-i"])
            .arg(&key)
            .args(["-p", &port.to_string(), "root@127.0.0.1", command])
            .output()
            .unwrap()
    };
    let out = ssh(
        "hostname; cat /root/note; echo; grep -c . /root/.ssh/authorized_keys; \
                   grep ^root: /etc/shadow | cut -d: -f2 | cut -c1-3; ls / | grep -c pwned",
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        text,
        format!("guest-one\n{hostile}\n1\n$6$\n0\n"),
        "ssh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = ssh("poweroff");
    let out = child.wait_with_output().unwrap();
    assert_ok(&out, "run-instance --save");
    let said = stderr(&out);
    assert!(
        said.contains("Machine 1 (vm ID: 1)\n\tLocal ip: 10.0.2.15\n\tssh -p "),
        "{said}"
    );
    assert_eq!(term(&out.stdout, DCTERMS, "title"), "Saved");
    assert_eq!(term(&out.stdout, DCTERMS, "format"), "qcow2");
    // The saved image stands alone and holds what the guest wrote.
    let info = tool("qemu-img", &["info", "--output=json", &s(&saved)]);
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert!(info.get("backing-filename").is_none(), "{info}");
    let raw = d.join("saved.raw");
    tool("qemu-img", &["convert", "-O", "raw", &s(&saved), &s(&raw)]);
    let note = tool("debugfs", &["-R", "cat /root/note", &s(&raw)]);
    assert_eq!(String::from_utf8_lossy(&note), hostile);
    wait_until_no_instance(state);
    assert!(
        !state.join("1").exists(),
        "the powered-off instance left state"
    );
    assert_eq!(sha256(&image), before, "the base image was written");
}

#[test]
fn a_script_customised_image_shows_it_and_boots_without_a_context_cd() {
    let Some(lab) = Lab::boot() else {
        return;
    };
    let d = lab.dir();
    let state = &lab.state;
    let (image, _) = lab.tiny_image();
    let before = sha256(&image);
    std::fs::write(
        d.join("custom.sh"),
        "#!/bin/sh\necho made-by-the-script > /etc/stratus-test-custom\n",
    )
    .unwrap();
    let new = d.join("custom.qcow2");
    let mut args = strings(&[
        &s(&image),
        "--script",
        &s(&d.join("custom.sh")),
        "-o",
        &s(&new),
        "--title",
        "Customised",
        "--console-log",
        &s(&d.join("create.log")),
    ]);
    args.extend(vm_args(&guest()));
    let out = stratus_in(state, CREATE, &args);
    assert_ok(&out, "create-image --script");
    assert!(
        stderr(&out).contains("customised by booting it under QEMU"),
        "{}",
        stderr(&out)
    );
    assert_eq!(term(&out.stdout, DCTERMS, "format"), "qcow2");
    assert_eq!(term(&out.stdout, DCTERMS, "title"), "Customised");
    let log = std::fs::read_to_string(d.join("create.log")).unwrap();
    assert!(log.contains("stratus-create-image: status 0"), "{log}");
    assert_eq!(sha256(&image), before, "the base image was written");

    // --accel auto: KVM only if a KVM guest really starts (here /dev/kvm
    // may exist and still run no guest), else TCG, without hanging.
    let mut args = vec![s(&new), "--no-context".into()];
    args.extend(vm_args(&guest()));
    let accel = args.iter().position(|a| a == "tcg").unwrap();
    args[accel] = "auto".into();
    let mut c = command(RUN);
    c.env("STRATUS_STATE_DIR", state)
        .env("STRATUS_KVM_PROBE_SECONDS", "5")
        .args(&args);
    let out = run_with_input(c, b"");
    assert_ok(&out, "run-instance --no-context --accel auto");
    assert!(
        stdout(&out).starts_with("Machine 1 (vm ID: 1)\n"),
        "{}",
        stdout(&out)
    );
    let quiet = stratus_in(state, DESCRIBE, &["-q".into()]);
    assert_eq!(stdout(&quiet), "1, 10.0.2.15\n");
    let used = instances(state)[0]["accel"].as_str().unwrap().to_string();
    if stderr(&out).contains("using TCG") {
        assert_eq!(used, "tcg", "{}", stderr(&out));
    } else if used == "tcg" {
        // Silently TCG only when KVM cannot even be opened.
        let openable = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        assert!(!openable, "TCG without trying KVM: {}", stderr(&out));
    }
    let console = state.join("1/console.log");
    let log = wait_for_console(&console, "tiny: ready");
    assert!(log.contains("stratus-context: no context CD"), "{log}");
    assert!(
        log.contains("tiny: stratus-test-custom: made-by-the-script"),
        "{log}"
    );
    // Its own first boot: the customising boot's marker was cleared.
    assert!(
        log.contains("stratus-firstboot: root's password randomised"),
        "{log}"
    );
    let out = stratus_in(state, KILL, &["1".into()]);
    assert_ok(&out, "kill-instance 1");
    assert!(instances(state).is_empty());
    assert!(!state.join("1").exists());
    let out = stratus_in(state, KILL, &["1".into()]);
    assert_code(&out, 2, "kill-instance of a gone instance");
}

#[test]
fn refusals_come_before_any_vm_and_descriptions_validate() {
    if !have("mkfs.ext4", "e2fsprogs") || !have("genisoimage", "genisoimage") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let state = d.join("state");
    let tree = d.join("tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(tree.join("etc/hostname"), "x\n").unwrap();
    let image = d.join("small.img");
    let out = stratus_in(
        d,
        CREATE,
        &strings(&[
            "--from-dir",
            &s(&tree),
            "-o",
            &s(&image),
            "--location",
            "small.img",
        ]),
    );
    assert_ok(&out, "create-image --from-dir");
    let xml = d.join("small.xml");
    std::fs::write(&xml, &out.stdout).unwrap();

    // A corrupted image: refused (exit 6), no instance, no QEMU.
    let copy = d.join("corrupt");
    std::fs::create_dir_all(&copy).unwrap();
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[5000] ^= 1;
    std::fs::write(copy.join("small.img"), &bytes).unwrap();
    std::fs::copy(&xml, copy.join("small.xml")).unwrap();
    let out = stratus_in(
        &state,
        RUN,
        &[s(&copy.join("small.xml")), "--accel".into(), "tcg".into()],
    );
    assert_code(&out, 6, "run-instance of a corrupt image");
    assert!(stderr(&out).contains("small.img"), "{}", stderr(&out));
    assert!(std::fs::read_dir(&state).map(|r| r.count()).unwrap_or(0) == 0);

    // Bad context names are usage errors; nothing is left behind.
    for bad in ["lower=x", "PATH=/tmp", "LD_PRELOAD=x", "NOEQUALS"] {
        let out = stratus_in(&state, RUN, &[s(&xml), "--context".into(), bad.into()]);
        assert_code(&out, 2, bad);
        assert!(stderr(&out).contains("--context"), "{}", stderr(&out));
    }
    assert!(std::fs::read_dir(&state).map(|r| r.count()).unwrap_or(0) == 0);
    let out = stratus_in(&state, RUN, &[]);
    assert_code(&out, 2, "run-instance without an image");
    assert!(stderr(&out).contains("Please specify the machine image to start"));

    // The descriptions for virtualization managers.
    let print_dir = d.join("described");
    let out = stratus_in(
        &state,
        RUN,
        &strings(&[
            &s(&xml),
            "--print",
            "libvirt",
            "--print-dir",
            &s(&print_dir),
            "--context",
            "NOTE=a \"quoted\" $(value)",
            "--vm-disks-bus",
            "virtio",
        ]),
    );
    assert_ok(&out, "run-instance --print libvirt");
    let domain = d.join("domain.xml");
    std::fs::write(&domain, &out.stdout).unwrap();
    assert!(print_dir.join("disk.qcow2").is_file());
    assert!(print_dir.join("context.iso").is_file());
    if have("virt-xml-validate", "libvirt-clients") {
        let checked = Command::new("virt-xml-validate")
            .arg(&domain)
            .arg("domain")
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "virt-xml-validate: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("<target dev=\"vda\" bus=\"virtio\"/>"),
        "{text}"
    );
    assert!(text.contains("context.iso"), "{text}");
    let info = tool(
        "qemu-img",
        &["info", "--output=json", &s(&print_dir.join("disk.qcow2"))],
    );
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["backing-filename-format"], "raw");

    let out = stratus_in(
        &state,
        RUN,
        &strings(&[
            &s(&xml),
            "--print",
            "opennebula",
            "--print-dir",
            &s(&print_dir),
            "--context",
            "NOTE=a \"quoted\" $(value)",
        ]),
    );
    assert_ok(&out, "run-instance --print opennebula");
    let template = stdout(&out);
    assert!(
        template.contains("NOTE = \"a \\\"quoted\\\" $(value)\""),
        "{template}"
    );
    assert!(template.contains("ETH0_IP = \"10.0.2.15\""), "{template}");
    assert!(template.contains("TARGET = \"hda\""), "{template}");
}

#[test]
fn guestfs_prepares_an_image_that_does_not_run_the_context_script() {
    // libguestfs boots its own appliance (30 to 90 s a call here); CI
    // installs it (guestfs-tools, and a kernel in /boot for its appliance),
    // and there a missing or broken libguestfs fails the test.
    let ci = in_ci();
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| d.join("virt-customize").is_file())
    });
    if !found {
        assert!(
            !ci,
            "virt-customize is not installed (Debian: guestfs-tools)"
        );
        eprintln!("skipped: virt-customize is not installed (Debian: guestfs-tools)");
        return;
    }
    let Some(lab) = Lab::boot() else {
        return;
    };
    let d = lab.dir();
    let state = &lab.state;
    // An image without the kit.
    let plain = d.join("plain.img");
    let out = stratus_in(
        d,
        CREATE,
        &strings(&["--from-dir", &s(&guest().join("rootfs")), "-o", &s(&plain)]),
    );
    assert_ok(&out, "create-image --from-dir");
    let prepared = d.join("prepared.qcow2");
    let out = stratus_in(
        d,
        CREATE,
        &strings(&[
            &s(&plain),
            "--prepare",
            "-o",
            &s(&prepared),
            "--vm-start-timeout",
            "300",
        ]),
    );
    // Only the appliance's own failures (no host kernel for supermin, no
    // device mapper, ...) skip; a bad command line is a failure.
    if !out.status.success() && stderr(&out).contains("libguestfs error:") {
        assert!(!ci, "libguestfs cannot run here: {}", stderr(&out));
        eprintln!("skipped: libguestfs cannot run here: {}", stderr(&out));
        return;
    }
    assert_ok(&out, "create-image --prepare (guestfs)");
    assert!(stderr(&out).contains("virt-customize"), "{}", stderr(&out));
    let mut args = vec![s(&prepared), "--hostname".into(), "from-guestfs".into()];
    args.extend(vm_args(&guest()));
    let out = stratus_in(state, RUN, &args);
    assert_ok(&out, "run-instance of the guestfs-prepared image");
    let log = wait_for_console(&state.join("1/console.log"), "tiny: ready");
    assert!(
        log.contains("stratus-context: hostname set to from-guestfs"),
        "{log}"
    );
    assert_ok(
        &stratus_in(state, KILL, &["--all".into()]),
        "kill-instance --all",
    );
}

#[test]
fn missing_files_given_to_options_are_named_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let image = d.join("disk.img");
    std::fs::write(&image, vec![0u8; 4096]).unwrap();
    let forged = d.join("no\nInvalid: such.sh");
    for (name, option) in [(RUN, "--init-script"), (CREATE, "--script")] {
        let mut args = vec![s(&image), option.into(), s(&forged)];
        if name == CREATE {
            args.extend(["-o".into(), s(&d.join("new.img"))]);
        }
        let out = stratus_in(d, name, &args);
        assert_code(&out, 2, option);
        let err = stderr(&out);
        assert!(err.contains(option), "{err}");
        assert!(err.contains("no\\nInvalid: such.sh"), "{err}");
        assert!(!err.contains("\nInvalid: such.sh"), "{err}");
    }
    assert!(!d.join("new.img").exists());
}
