//! The options of `stratus-run-instance` and `stratus-create-image` that
//! change what the guest sees, with the real tiny guest of
//! `guest/build.sh` under QEMU (TCG): extra disks (`--persistent-disk`,
//! `--readonly-disk`), the network (`--network open` against a server on
//! 127.0.0.1, which the guest reaches as 10.0.2.2), packages installed
//! from a local repository (`--package`, `--installer`,
//! `--extra-os-repos`), an installer CD (`--install-iso`), and image URLs
//! (refused unless pinned by `--checksum` or accepted with
//! `--unverified-image-url`).
//!
//! Boots run one at a time, each bounded (see `vmkit`).

mod common;
mod vmkit;
mod webkit;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use vmkit::{guest, machine_args, s, stratus_in, strings, vm_args, wait_for_console, Lab};
use webkit::{Behaviour, WebServer};

const CREATE: &str = "stratus-create-image";
const RUN: &str = "stratus-run-instance";
const KILL: &str = "stratus-kill-instance";

/// The guest's init.sh: which disk is which (by the NVMe serial numbers
/// run-instance gives them: `stratus<index>`), a write to each extra disk,
/// and a request to the host's server (busybox's wget crashes with its own
/// `-T`: timeout bounds it).
fn disk_script(write: bool, url: &str) -> String {
    format!(
        r#"#!/bin/sh
disk() {{
    for controller in /sys/class/nvme/nvme*; do
        if [ "$(tr -d ' ' < "$controller/serial")" = "stratus$1" ]; then
            echo "${{controller##*/}}n1"
        fi
    done
}}
persistent=$(disk 1)
readonly=$(disk 2)
echo "disks: persistent=$persistent readonly=$readonly"
if [ "{write}" = true ]; then
    printf 'written-by-the-guest\n' | dd of="/dev/$persistent" conv=fsync 2> /dev/null \
        && echo "persistent write: done"
else
    echo "persistent holds: $(head -c 21 "/dev/$persistent")"
fi
echo "readonly holds: $(head -c 17 "/dev/$readonly")"
if printf 'overwritten' | dd of="/dev/$readonly" conv=fsync 2> /dev/null; then
    echo "readonly write: allowed"
else
    echo "readonly write: refused"
fi
if body=$(timeout 10 wget -q -O - {url} 2> /dev/null); then
    echo "network: got $body"
else
    echo "network: unreachable"
fi
"#
    )
}

#[test]
fn extra_disks_persist_or_stay_read_only_and_open_reaches_the_host() {
    let Some(lab) = Lab::boot() else {
        return;
    };
    let d = lab.dir();
    let state = &lab.state;
    let (image, _) = lab.tiny_image();
    let web = WebServer::start();
    web.route("/probe", Behaviour::Serve(b"host-says-hello".to_vec()));
    let url = format!("http://10.0.2.2:{}/probe", web.addr.port());

    let persistent = d.join("persistent.img");
    std::fs::write(&persistent, vec![0u8; 1 << 20]).unwrap();
    let readonly = d.join("readonly.img");
    let mut original = b"readonly-original".to_vec();
    original.resize(1 << 20, 0);
    std::fs::write(&readonly, &original).unwrap();

    // The read-only disk described by a metadata document, as the legacy
    // option took a Marketplace image: checked before it is attached.
    let readonly_xml = d.join("readonly.xml");
    std::fs::write(
        &readonly_xml,
        build_ok(&["--location", "readonly.img", &s(&readonly)]),
    )
    .unwrap();

    let boot = |write: bool, network: &str, readonly: &Path| {
        let script = d.join(format!("init-{write}.sh"));
        std::fs::write(&script, disk_script(write, &url)).unwrap();
        let mut args = strings(&[
            &s(&image),
            "--persistent-disk",
            &s(&persistent),
            "--readonly-disk",
            &s(readonly),
            "--network",
            network,
            "--init-script",
            &s(&script),
        ]);
        args.extend(vm_args(&guest()));
        let out = stratus_in(state, RUN, &args);
        assert_ok(&out, "run-instance with extra disks");
        let log = wait_for_console(&state.join("1/console.log"), "tiny: ready");
        assert_ok(&stratus_in(state, KILL, &["1".into()]), "kill-instance 1");
        log
    };
    let has = |log: &str, line: &str| {
        assert!(
            log.lines().any(|l| l.trim_end() == line),
            "no '{line}' in:\n{log}"
        );
    };

    // --network open: the guest reaches the host's server.
    let log = boot(true, "open", &readonly);
    has(&log, "disks: persistent=nvme1n1 readonly=nvme2n1");
    has(&log, "persistent write: done");
    has(&log, "readonly holds: readonly-original");
    has(&log, "readonly write: refused");
    has(&log, "network: got host-says-hello");
    assert_eq!(web.hits("/probe"), 1);
    let written = std::fs::read(&persistent).unwrap();
    assert!(written.starts_with(b"written-by-the-guest\n"));
    assert_eq!(std::fs::read(&readonly).unwrap(), original);

    // Another instance (the default, restricted network) finds the data;
    // its read-only disk is named by its metadata.
    let log = boot(false, "restricted", &readonly_xml);
    has(&log, "persistent holds: written-by-the-guest");
    has(&log, "readonly write: refused");
    has(&log, "network: unreachable");
    assert_eq!(
        web.hits("/probe"),
        1,
        "the restricted guest reached the host"
    );
    assert_eq!(std::fs::read(&readonly).unwrap(), original);

    // A read-only disk that does not match its metadata starts nothing.
    std::fs::write(&readonly, b"other bytes").unwrap();
    let mut args = vec![s(&image), "--readonly-disk".into(), s(&readonly_xml)];
    args.extend(vm_args(&guest()));
    assert_code(
        &stratus_in(state, RUN, &args),
        6,
        "a corrupt read-only disk",
    );
    assert!(std::fs::read_dir(state).map(|r| r.count()).unwrap_or(0) == 0);
}

/// A Debian package `name` (gzip members, which busybox's dpkg reads)
/// installing `/usr/share/<name>/greeting`, and the flat repository
/// index (`Packages`) that lists it, as `dpkg-scanpackages` would.
fn local_repository(dir: &Path, name: &str) -> (Vec<u8>, String) {
    let root = dir.join(format!("{name}-root"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join(format!("usr/share/{name}"))).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <t@example.org>\n\
             Description: a package for the create-image tests\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join(format!("usr/share/{name}/greeting")),
        "installed-from-the-local-repository\n",
    )
    .unwrap();
    let deb = dir.join(format!("{name}_1.0_all.deb"));
    tool(
        "dpkg-deb",
        &[
            "-Zgzip",
            "--root-owner-group",
            "--build",
            &s(&root),
            &s(&deb),
        ],
    );
    let bytes = std::fs::read(&deb).unwrap();
    let index = format!(
        "Package: {name}\nVersion: 1.0\nArchitecture: all\nFilename: pool/{name}_1.0_all.deb\n\
         Size: {}\nSHA256: {}\n\n",
        bytes.len(),
        coreutils_digest("sha256sum", &deb)
    );
    (bytes, index)
}

/// What `debugfs -R "cat PATH"` reads in the ext4 image `image` (any
/// format: converted to raw first); `<missing>` when there is no such file.
fn read_in_image(image: &Path, path: &str) -> String {
    let raw = image.with_extension("inspect.raw");
    tool("qemu-img", &["convert", "-O", "raw", &s(image), &s(&raw)]);
    let out = Command::new("debugfs")
        .args(["-R", &format!("cat {path}")])
        .arg(&raw)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&raw);
    if String::from_utf8_lossy(&out.stderr).contains("File not found") {
        return "<missing>".into();
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn packages_come_from_a_local_repository_and_no_shutdown_waits_for_the_guest() {
    let Some(lab) = Lab::boot() else {
        return;
    };
    let d = lab.dir();
    let state = &lab.state;
    let (image, _) = lab.tiny_image();
    let web = WebServer::start();
    let (deb, index) = local_repository(d, "stratus-hello");
    web.route(
        "/repo/pool/stratus-hello_1.0_all.deb",
        Behaviour::Serve(deb),
    );
    web.route("/repo/Packages", Behaviour::Serve(index.into_bytes()));
    let repo = format!("http://10.0.2.2:{}/repo", web.addr.port());

    // The tiny guest has no package manager: --package alone fails, and
    // leaves no image.
    let failed = d.join("failed.qcow2");
    let mut args = strings(&[&s(&image), "--package", "stratus-hello", "-o", &s(&failed)]);
    args.extend(vm_args(&guest()));
    let out = stratus_in(state, CREATE, &args);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reported status 127")
            && stderr(&out).contains("no package manager found"),
        "{}",
        stderr(&out)
    );
    assert!(!failed.exists());

    // With busybox's dpkg and the local repository. The script leaves a
    // file that --exclude removes, and, under --no-shutdown, a job that
    // writes a marker and powers the guest off a few seconds after the
    // scripts are done: the marker is in the image only if create-image
    // waited for that power-off rather than powering off itself.
    std::fs::write(
        d.join("setup.sh"),
        "#!/bin/sh\necho junk > /etc/stratus-test-junk\n\
         (cd / && sleep 3 && echo after-the-scripts > /etc/stratus-test-later && sync && poweroff) \
         > /dev/null 2>&1 &\n",
    )
    .unwrap();
    let new = d.join("with-package.qcow2");
    let log = d.join("create.log");
    let mut args = strings(&[
        &s(&image),
        "--script",
        &s(&d.join("setup.sh")),
        "--package",
        "stratus-hello",
        "--installer",
        "dpkg",
        "--extra-os-repos",
        &repo,
        "--exclude",
        "/etc/stratus-test-junk",
        "--no-shutdown",
        "--no-upload",
        "--vm-start-timeout",
        "120",
        "--console-log",
        &s(&log),
        "-o",
        &s(&new),
    ]);
    args.extend(vm_args(&guest()));
    let out = stratus_in(state, CREATE, &args);
    assert_ok(
        &out,
        "create-image --package --installer dpkg --no-shutdown",
    );
    let said = stderr(&out);
    assert!(
        said.contains("--no-shutdown: the guest keeps running"),
        "{said}"
    );
    assert!(
        said.contains("--no-upload: create-image never uploads"),
        "{said}"
    );
    let console = std::fs::read_to_string(&log).unwrap();
    assert!(
        console.contains("stratus-create-image: installing stratus-hello with dpkg"),
        "{console}"
    );
    assert!(
        console.contains("stratus-create-image: status 0"),
        "{console}"
    );
    assert_eq!(web.hits("/repo/pool/stratus-hello_1.0_all.deb"), 1);
    assert_eq!(
        read_in_image(&new, "/usr/share/stratus-hello/greeting"),
        "installed-from-the-local-repository\n"
    );
    assert!(read_in_image(&new, "/var/lib/dpkg/status").contains("Package: stratus-hello"));
    assert_eq!(
        read_in_image(&new, "/etc/stratus-test-later"),
        "after-the-scripts\n"
    );
    assert_eq!(read_in_image(&new, "/etc/stratus-test-junk"), "<missing>");
    assert_eq!(term(&out.stdout, DCTERMS, "format"), "qcow2");
}

/// That `out` succeeded and its stderr holds each of `lines`.
fn assert_says(out: &Output, what: &str, lines: &[&str]) {
    assert_ok(out, what);
    let said = stderr(out);
    for line in lines {
        assert!(said.contains(line), "no '{line}' in {said}");
    }
}

#[test]
fn legacy_options_without_a_local_meaning_are_accepted_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let blank = d.join("blank.qcow2");
    let out = stratus_in(
        d,
        CREATE,
        &strings(&[
            "--size",
            "1M",
            "-o",
            &s(&blank),
            "-n",
            "legacy-name",
            "--image-group",
            "g",
            "--vm-ping-timeout",
            "300",
            "--marketplace-endpoint-newimage",
            "https://mp.example.org",
            "--no-upload",
        ]),
    );
    assert_says(
        &out,
        "create-image with legacy options",
        &[
            "--name is ignored:",
            "--image-group is ignored:",
            "--vm-ping-timeout is ignored:",
            "--marketplace-endpoint-newimage is ignored:",
            "--no-upload: create-image never uploads",
        ],
    );
    assert!(blank.is_file());
    let out = stratus_in(
        d,
        RUN,
        &strings(&[
            &s(&blank),
            "--print",
            "qemu",
            "--print-dir",
            &s(&d.join("printed")),
            "--no-check-image-url",
            "--pdisk-endpoint",
            "https://pdisk.example.org",
            "--endpoint",
            "https://one.example.org",
            "-u",
            "jane",
            "-t",
            "m1.small",
        ]),
    );
    assert_says(
        &out,
        "run-instance with legacy options",
        &[
            "--no-check-image-url is ignored:",
            "--pdisk-endpoint is ignored:",
            "--endpoint is ignored: there is no cloud front end",
            "--username is ignored:",
            "--type m1.small is ignored: give --cpu and --ram",
        ],
    );
    // --no-shutdown needs a boot to stay in.
    let out = stratus_in(
        d,
        CREATE,
        &strings(&[
            &s(&blank),
            "--no-shutdown",
            "--method",
            "guestfs",
            "-o",
            &s(&d.join("x.qcow2")),
        ]),
    );
    assert_code(&out, 2, "--no-shutdown --method guestfs");
}

/// Where Debian's isolinux and syslinux-common put the BIOS boot loader
/// of a CD and its library.
const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";

/// Whether a file of a Debian package is here (else skip, or fail in CI).
fn have_file(path: &str, package: &str) -> bool {
    let found = Path::new(path).is_file();
    if !found {
        assert!(
            !in_ci(),
            "{path} is missing (Debian: {package}); CI must install it"
        );
        eprintln!("skipped: {path} is missing (Debian: {package})");
    }
    found
}

/// A bootable installer CD (El Torito, isolinux): the test guest's kernel
/// and an initramfs of busybox whose /init makes an ext2 file system on
/// the first NVMe disk, writes a marker into it and powers off.
fn installer_iso(dir: &Path) -> std::path::PathBuf {
    let tree = dir.join("cd");
    let initramfs = dir.join("initramfs");
    for sub in ["bin", "dev", "proc", "sys", "mnt"] {
        std::fs::create_dir_all(initramfs.join(sub)).unwrap();
    }
    std::fs::copy(tool_path("busybox"), initramfs.join("bin/busybox")).unwrap();
    let init = initramfs.join("init");
    std::fs::write(
        &init,
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "installer: started"
target=/dev/nvme0n1
tries=0
while [ ! -b "$target" ] && [ "$tries" -lt 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
if mke2fs -F -L installed "$target" > /dev/null && mount -t ext4 "$target" /mnt; then
    mkdir -p /mnt/etc
    echo "written-by-the-installer" > /mnt/etc/installed-by
    umount /mnt
    sync
    echo "installer: done"
else
    echo "installer: failed"
fi
poweroff -f
"#,
    )
    .unwrap();
    std::fs::set_permissions(&init, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    let archive = Command::new("sh")
        .arg("-c")
        .arg("cd \"$1\" && find . | busybox cpio -o -H newc 2> /dev/null > \"$2\"")
        .arg("sh")
        .arg(&initramfs)
        .arg(tree.join("initrd"))
        .status()
        .unwrap();
    assert!(archive.success(), "busybox cpio failed");
    std::fs::copy(guest().join("vmlinuz"), tree.join("vmlinuz")).unwrap();
    std::fs::copy(ISOLINUX, tree.join("isolinux/isolinux.bin")).unwrap();
    std::fs::copy(LDLINUX, tree.join("isolinux/ldlinux.c32")).unwrap();
    std::fs::write(
        tree.join("isolinux/isolinux.cfg"),
        "DEFAULT install\nPROMPT 0\nLABEL install\n  KERNEL /vmlinuz\n  \
         APPEND initrd=/initrd console=ttyS0 quiet panic=-1\n",
    )
    .unwrap();
    let iso = dir.join("installer.iso");
    tool(
        "genisoimage",
        &[
            "-quiet",
            "-V",
            "INSTALLER",
            "-R",
            "-J",
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-o",
            &s(&iso),
            &s(&tree),
        ],
    );
    iso
}

/// The full path of `program` on PATH.
fn tool_path(program: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

#[test]
fn an_installer_cd_installs_onto_the_blank_disk() {
    let Some(lab) = Lab::boot() else {
        return;
    };
    if !have_file(ISOLINUX, "isolinux") || !have_file(LDLINUX, "syslinux-common") {
        return;
    }
    let d = lab.dir();
    let iso = installer_iso(d);
    let before = coreutils_digest("sha256sum", &iso);
    let image = d.join("installed.img");
    let log = d.join("install.log");
    let mut args = strings(&[
        "--install-iso",
        &s(&iso),
        "--size",
        "32M",
        "--format",
        "raw",
        "-o",
        &s(&image),
        "--console-log",
        &s(&log),
        "--vm-start-timeout",
        "120",
        "--title",
        "Installed",
        "--os",
        "busybox",
    ]);
    args.extend(machine_args());
    let out = stratus_in(d, CREATE, &args);
    assert_ok(&out, "create-image --install-iso");
    let console = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        console.lines().any(|l| l.trim_end() == "installer: done"),
        "{console}"
    );
    assert_eq!(
        read_in_image(&image, "/etc/installed-by"),
        "written-by-the-installer\n"
    );
    // The draft describes the installed disk.
    assert_eq!(term(&out.stdout, DCTERMS, "title"), "Installed");
    assert_eq!(term(&out.stdout, DCTERMS, "format"), "raw");
    assert_eq!(term(&out.stdout, SLREQ, "bytes"), (32u64 << 20).to_string());
    assert_eq!(
        checksum(&out.stdout, "SHA-1").as_deref(),
        Some(coreutils_digest("sha1sum", &image).as_str())
    );
    assert_eq!(
        coreutils_digest("sha256sum", &iso),
        before,
        "the CD was written"
    );
}

#[test]
fn image_urls_need_a_checksum_or_an_explicit_unverified_opt_in() {
    let Some(lab) = Lab::boot() else {
        return;
    };
    let d = lab.dir();
    let state = &lab.state;
    let (image, xml) = lab.tiny_image();
    let web = WebServer::start();
    let url = web.route(
        "/images/tiny.img",
        Behaviour::Serve(std::fs::read(&image).unwrap()),
    );
    let sha256 = coreutils_digest("sha256sum", &image);
    let run_url = |extra: &[&str]| {
        let mut args = vec![url.clone()];
        args.extend(extra.iter().map(|a| a.to_string()));
        args.extend(vm_args(&guest()));
        stratus_in(state, RUN, &args)
    };
    let no_instance = || std::fs::read_dir(state).map(|r| r.count()).unwrap_or(0) == 0;

    // By default: refused before any request, saying how to opt in.
    let out = run_url(&[]);
    assert_code(&out, 2, "run-instance of an image URL");
    let said = stderr(&out);
    assert!(said.contains("no signed checksums"), "{said}");
    assert!(said.contains("--checksum sha256:HEX"), "{said}");
    assert!(said.contains("--unverified-image-url"), "{said}");
    assert_eq!(web.hits("/images/tiny.img"), 0);
    assert!(no_instance());

    // Weak or malformed checksums are usage errors; a wrong one is a
    // mismatch (exit 6) and nothing starts.
    let out = run_url(&["--checksum", &format!("md5:{}", &sha256[..32])]);
    assert_code(&out, 2, "--checksum md5");
    let wrong = format!("sha256:{}", "0".repeat(64));
    let out = run_url(&["--checksum", &wrong]);
    assert_code(&out, 6, "--checksum of another image");
    assert!(stderr(&out).contains("--checksum says"), "{}", stderr(&out));
    assert!(no_instance());

    // The right checksum: the image is fetched, verified and booted.
    let out = run_url(&["--checksum", &format!("sha256:{sha256}")]);
    assert_ok(&out, "run-instance of an image URL with --checksum");
    let log = wait_for_console(&state.join("1/console.log"), "tiny: ready");
    assert!(
        log.contains("stratus-context: hostname set to stratus-1"),
        "{log}"
    );
    assert_ok(&stratus_in(state, KILL, &["1".into()]), "kill-instance 1");

    // --unverified-image-url: taken as served, with a warning.
    let new = d.join("from-url.qcow2");
    let out = stratus_in(
        d,
        CREATE,
        &strings(&[&url, "--unverified-image-url", "-o", &s(&new)]),
    );
    assert_ok(&out, "create-image of an image URL, unverified");
    assert!(
        stderr(&out).contains("--unverified-image-url: the image is NOT verified"),
        "{}",
        stderr(&out)
    );
    let same = Command::new("qemu-img")
        .args(["compare", "-q", &s(&image), &s(&new)])
        .status()
        .unwrap();
    assert!(same.success(), "the new image differs from the served one");

    // Even unverified, an image naming a backing file (a host file QEMU
    // would open for the guest) is refused.
    let evil = d.join("evil.qcow2");
    tool(
        "qemu-img",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            &s(&image),
            "-F",
            "raw",
            &s(&evil),
        ],
    );
    let evil_url = web.route(
        "/images/evil.qcow2",
        Behaviour::Serve(std::fs::read(&evil).unwrap()),
    );
    let out = stratus_in(
        d,
        CREATE,
        &strings(&[
            &evil_url,
            "--unverified-image-url",
            "-o",
            &s(&d.join("evil-copy.qcow2")),
        ]),
    );
    assert_code(&out, 2, "an image URL naming a backing file");
    assert!(stderr(&out).contains("backing file"), "{}", stderr(&out));
    assert!(!d.join("evil-copy.qcow2").exists());
    // Nor when its format is forced.
    let out = stratus_in(
        d,
        CREATE,
        &[
            web.url("/images/evil.qcow2"),
            "--unverified-image-url".into(),
            "--qcow-disk-format".into(),
            "-o".into(),
            s(&d.join("evil-copy.qcow2")),
        ],
    );
    assert_code(&out, 2, "a forced qcow2 image URL naming a backing file");
    assert!(!d.join("evil-copy.qcow2").exists());
    // Nor when a metadata document describes it, checksums and all: the
    // document's author does not get to pick a file of this host. The
    // same for the other ways a header names a host file: a qcow2
    // external data file, and a VMDK extent.
    let host_file = d.join("host-secret.raw");
    let mut secret = b"host-secret".to_vec();
    secret.resize(1 << 20, 0);
    std::fs::write(&host_file, &secret).unwrap();
    let data_file = d.join("data-file.qcow2");
    let data_file_option = format!("data_file={},data_file_raw=on", s(&host_file));
    tool(
        "qemu-img",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            &data_file_option,
            &s(&data_file),
            "1M",
        ],
    );
    let extent = d.join("extent.vmdk");
    std::fs::write(
        &extent,
        format!(
            "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n\
             createType=\"monolithicFlat\"\nRW 2048 FLAT \"{}\" 0\n",
            s(&host_file)
        ),
    )
    .unwrap();
    for (image, says) in [
        (&evil, "a backing file"),
        (&data_file, "an external data file"),
        (&extent, "another file, extents.0"),
    ] {
        let name = image.file_name().unwrap().to_string_lossy().to_string();
        let described = stratus_in(
            d,
            "stratus-build-metadata",
            &[s(image), "--location".into(), name.clone()],
        );
        assert_ok(&described, &format!("build-metadata of {name}"));
        let xml = d.join(format!("{name}.xml"));
        std::fs::write(&xml, &described.stdout).unwrap();
        let out = stratus_in(
            d,
            CREATE,
            &[s(&xml), "-o".into(), s(&d.join("evil-copy.qcow2"))],
        );
        assert_code(&out, 2, &format!("a described {name}"));
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
        assert!(!d.join("evil-copy.qcow2").exists());
    }

    // The opt-ins are for image URLs only: an image with metadata is
    // verified against it.
    let out = stratus_in(
        d,
        CREATE,
        &strings(&[
            &s(&xml),
            "--checksum",
            &format!("sha256:{sha256}"),
            "-o",
            &s(&d.join("x.qcow2")),
        ]),
    );
    assert_code(&out, 2, "--checksum with a metadata file");
    assert!(
        stderr(&out).contains("applies to an image URL only"),
        "{}",
        stderr(&out)
    );
}
