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
use std::sync::Mutex;
use vmkit::{guest, have_boot_tools, s, stratus_in, tiny_image, vm_args, wait_for_console};
use webkit::{Behaviour, WebServer};

const CREATE: &str = "stratus-create-image";
const RUN: &str = "stratus-run-instance";
const KILL: &str = "stratus-kill-instance";

/// One boot at a time.
static BOOTS: Mutex<()> = Mutex::new(());

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
    if !have_boot_tools() {
        return;
    }
    let _one = BOOTS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let state = d.join("state");
    let (image, _) = tiny_image(d, "tiny.img");
    let web = WebServer::start();
    web.route("/probe", Behaviour::Serve(b"host-says-hello".to_vec()));
    let url = format!("http://10.0.2.2:{}/probe", web.addr.port());

    let persistent = d.join("persistent.img");
    std::fs::write(&persistent, vec![0u8; 1 << 20]).unwrap();
    let readonly = d.join("readonly.img");
    let mut original = b"readonly-original".to_vec();
    original.resize(1 << 20, 0);
    std::fs::write(&readonly, &original).unwrap();

    let boot = |write: bool, network: &str| {
        let script = d.join(format!("init-{write}.sh"));
        std::fs::write(&script, disk_script(write, &url)).unwrap();
        let mut args = vec![
            s(&image),
            "--persistent-disk".into(),
            s(&persistent),
            "--readonly-disk".into(),
            s(&readonly),
            "--network".into(),
            network.into(),
            "--init-script".into(),
            s(&script),
        ];
        args.extend(vm_args(&guest()));
        let out = stratus_in(&state, RUN, &args);
        assert_ok(&out, "run-instance with extra disks");
        let log = wait_for_console(&state.join("1/console.log"), "tiny: ready");
        assert_ok(
            &stratus_in(&state, KILL, &["1".into()]),
            "kill-instance 1",
        );
        log
    };
    let has = |log: &str, line: &str| {
        assert!(
            log.lines().any(|l| l.trim_end() == line),
            "no '{line}' in:\n{log}"
        );
    };

    // --network open: the guest reaches the host's server.
    let log = boot(true, "open");
    has(&log, "disks: persistent=nvme1n1 readonly=nvme2n1");
    has(&log, "persistent write: done");
    has(&log, "readonly holds: readonly-original");
    has(&log, "readonly write: refused");
    has(&log, "network: got host-says-hello");
    assert_eq!(web.hits("/probe"), 1);
    let written = std::fs::read(&persistent).unwrap();
    assert!(written.starts_with(b"written-by-the-guest\n"));
    assert_eq!(std::fs::read(&readonly).unwrap(), original);

    // Another instance (the default, restricted network) finds the data.
    let log = boot(false, "restricted");
    has(&log, "persistent holds: written-by-the-guest");
    has(&log, "readonly write: refused");
    has(&log, "network: unreachable");
    assert_eq!(web.hits("/probe"), 1, "the restricted guest reached the host");
    assert_eq!(std::fs::read(&readonly).unwrap(), original);
}
