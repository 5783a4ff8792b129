//! A real PostgreSQL cluster for the tests: Debian's server binaries
//! (`/usr/lib/postgresql/<version>/bin`), a fresh cluster made by
//! `initdb` in a temporary directory, listening on 127.0.0.1 at a free
//! port, with trust authentication on loopback (test-only).
//!
//! PostgreSQL refuses to run as root, so when the tests run as root the
//! cluster runs as the unprivileged `postgres` user of Debian's package
//! (through `setpriv`). A small reaper process, whose standard input is
//! a pipe held by the test process, stops the server and removes the
//! directory when the test process exits, however it exits.
//!
//! `fsync=off` keeps the tests fast on a shared machine; commits are still
//! written to the kernel before they are acknowledged, so a killed or
//! restarted server (what the tests do) loses nothing.
//!
//! The Marketplace tests reach it as `market::pgkit`.

#![allow(dead_code)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running (or stopped) test cluster.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    root: PathBuf,
    pub port: u16,
    as_postgres: bool,
    server: Mutex<Option<Child>>,
    databases: Mutex<HashSet<String>>,
    _reaper: Mutex<Option<ChildStdin>>,
}

/// The newest installed PostgreSQL's binary directory.
pub fn binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Whether PostgreSQL can run here. When it cannot: with `STRATUS_CI=1`
/// the test fails saying what to install; otherwise it prints why it is
/// skipped and the caller returns.
pub fn available() -> bool {
    if binaries().is_some() {
        return true;
    }
    let message = "the PostgreSQL tests need Debian's postgresql package \
                   (/usr/lib/postgresql/*/bin; apt-get install postgresql; .ci/run installs it)";
    assert!(
        std::env::var_os("STRATUS_CI").is_none_or(|v| v != "1"),
        "{message}"
    );
    eprintln!("skipped: {message}");
    false
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The one cluster of this test process, started at the first call.
pub fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

impl Cluster {
    /// A new cluster, started.
    pub fn start() -> Cluster {
        let bin = binaries().expect(
            "PostgreSQL's binaries (/usr/lib/postgresql/*/bin): apt-get install postgresql",
        );
        let scratch = tempfile::Builder::new()
            .prefix("stratus-pg-")
            .tempdir()
            .expect("a directory for the cluster");
        // Kept until the reaper removes it.
        let root = scratch.keep();
        let data = root.join("data");
        std::fs::create_dir(&data).unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let chmod = Command::new("chmod").arg("755").arg(&root).status();
            assert!(
                chmod.is_ok_and(|s| s.success()),
                "chmod of the cluster directory"
            );
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data)
                .status();
            assert!(
                chown.is_ok_and(|s| s.success()),
                "chown to the postgres user (Debian's postgresql package creates it)"
            );
        }
        // Never waited for: it must outlive the test process, which it
        // watches through its standard input.
        #[allow(clippy::zombie_processes)]
        let reaper = Command::new("sh")
            .args([
                "-c",
                "read _; p=$(head -n 1 \"$1/postmaster.pid\" 2> /dev/null); \
                 [ -n \"$p\" ] && kill -INT \"$p\" 2> /dev/null; i=0; \
                 while [ -e \"$1/postmaster.pid\" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; \
                 rm -rf \"$2\"",
                "reaper",
            ])
            .arg(&data)
            .arg(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the cluster's reaper starts");
        let cluster = Cluster {
            port: 0,
            as_postgres,
            server: Mutex::new(None),
            databases: Mutex::new(HashSet::new()),
            _reaper: Mutex::new(reaper.stdin),
            bin,
            data,
            root,
        };
        let output = cluster
            .as_owner(&cluster.bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg("-D")
            .arg(&cluster.data)
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut cluster = cluster;
        for _ in 0..5 {
            cluster.port = free_port();
            if cluster.try_start() {
                return cluster;
            }
        }
        panic!("PostgreSQL did not start\n{}", cluster.log());
    }

    /// A command that runs as the cluster's owner.
    fn as_owner(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
                .arg(program);
            c.env("HOME", &self.root);
            c
        } else {
            Command::new(program)
        }
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }

    /// Start the server (after [`Cluster::stop`]); bounded.
    pub fn restart(&self) {
        assert!(
            self.try_start(),
            "PostgreSQL did not start again\n{}",
            self.log()
        );
    }

    fn try_start(&self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("server.log"))
            .unwrap();
        let child = self
            .as_owner(&self.bin.join("postgres"))
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(&self.data)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=400",
                "-c",
                "shared_buffers=32MB",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        *self.server.lock().unwrap() = Some(child);
        let start = Instant::now();
        while start.elapsed() < READY_TIMEOUT {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return true;
            }
            let exited = self
                .server
                .lock()
                .unwrap()
                .as_mut()
                .is_none_or(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                *self.server.lock().unwrap() = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Stop the server: `fast` (SIGINT: clean shutdown, connections cut)
    /// or not (SIGQUIT: immediate, as a crash: recovery at the next
    /// start). Waits (bounded) for it to exit.
    pub fn stop(&self, fast: bool) {
        let mut server = self.server.lock().unwrap();
        let mut child = server.take().expect("PostgreSQL runs");
        let signal = if fast { "-INT" } else { "-QUIT" };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} postgres");
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "PostgreSQL did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A client program of the cluster (`psql`, `createdb`, `pg_dump`)
    /// connected to it as the `postgres` role.
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        command
    }

    /// A fresh database; its connection URL.
    pub fn create_database(&self, name: &str) -> String {
        let mut databases = self.databases.lock().unwrap();
        if databases.insert(name.to_string()) {
            let mut command = self.client("createdb");
            command.arg(name);
            succeeded(command, &format!("createdb {name}"));
        }
        self.url(name)
    }

    /// The connection URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Run SQL with psql; its output (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let mut command = self.client("psql");
        command
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-d", database, "-c", sql]);
        let output = succeeded(command, &format!("psql {sql}"));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// A plain-SQL backup of database `name` (pg_dump).
    pub fn dump(&self, name: &str) -> Vec<u8> {
        let mut command = self.client("pg_dump");
        command.arg(name);
        succeeded(command, &format!("pg_dump {name}")).stdout
    }

    /// Replace database `name` by `backup` (of [`Cluster::dump`]): dropped
    /// with its connections, created again, the backup loaded.
    pub fn restore(&self, name: &str, backup: &[u8]) {
        use std::io::Write;
        self.psql("postgres", &format!("DROP DATABASE {name} WITH (FORCE)"));
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        let mut child = self
            .client("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-d", name])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("psql runs");
        child.stdin.take().unwrap().write_all(backup).unwrap();
        assert!(child.wait().unwrap().success(), "restore of {name}");
    }

    /// The database of a data directory: one per directory, created at
    /// the first use, so that a server restarted on the same directory
    /// finds its entries again.
    pub fn database_for(&self, data: &Path) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        data.hash(&mut hasher);
        self.create_database(&format!("t{:016x}", hasher.finish()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut reaper) = self._reaper.lock().unwrap().take() {
            let _ = reaper.write_all(b"\n");
        }
    }
}

/// Run `command` to its end; its output, once it succeeded.
fn succeeded(mut command: Command, what: &str) -> std::process::Output {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
