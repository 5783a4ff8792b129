//! Helpers for the black-box tests: find the built binaries, run them with
//! arguments and standard input, and find the shared legacy fixtures.
//!
//! The binaries are the ones `cargo build --bins` put next to the test
//! executable's `deps/` directory (`make test` builds them first), or those
//! in `STRATUS_BIN_DIR` when it is set (to test installed binaries).

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The directory holding the stratus binaries under test.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STRATUS_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/<profile>/deps/<test> -> target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps")
        .to_path_buf()
}

/// A command for the stratus binary `name`, with a pinned clock.
pub fn command(name: &str) -> Command {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --bins` (or `make test`) first",
        path.display()
    );
    let mut command = Command::new(path);
    command.env("STRATUS_NOW", "2026-01-15T10:20:30Z");
    command
}

/// Run `command` with `stdin` as standard input; return what it did.
pub fn run_with_input(mut command: Command, stdin: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // Write from a thread: a large input must not deadlock against output.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("the binary runs");
    let _ = writer.join();
    output
}

/// Run the stratus binary `name` with `args` and empty standard input.
pub fn run(name: &str, args: &[&str]) -> Output {
    run_with_input(
        {
            let mut c = command(name);
            c.args(args);
            c
        },
        b"",
    )
}

/// The legacy fixtures shipped beside the repository (`../shared/fixtures/legacy`).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/legacy")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code (-1 when killed by a signal).
pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}
