//! A throwaway PostgreSQL server for the tests: Debian's `postgresql` package (`make test` installs it),
//! `initdb` into a temporary directory (as the `postgres` user when we are root: initdb refuses root),
//! listening on 127.0.0.1 only, stopped by its PID when dropped.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// Where the server binaries are: `$ZKORACLE_PG_BIN`, else the newest `/usr/lib/postgresql/<ver>/bin`.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ZKORACLE_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
                .filter(|(_, p): &(u32, PathBuf)| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, p)| p).expect(
        "PostgreSQL server binaries not found: `apt-get install -y postgresql` (make test does it) \
         or set ZKORACLE_PG_BIN",
    )
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Runs a server binary, as `postgres` when we are root.
fn run(bin: &Path, args: &[&str]) {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.args(args).output().unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Postgres {
    pub port: u16,
    pid: u32,
    bin: PathBuf,
    dir: tempfile::TempDir,
    next_db: std::sync::atomic::AtomicU32,
}

impl Postgres {
    /// initdb + pg_ctl start on a free loopback port (fsync off: a test server).
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("zk-pg-").tempdir().unwrap();
        let data = dir.path().join("data");
        if is_root() {
            let id = |flag: &str| -> u32 {
                let out = Command::new("id").args([flag, "postgres"]).output().unwrap();
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .expect("a `postgres` user (Debian's package)")
            };
            std::os::unix::fs::chown(dir.path(), Some(id("-u")), Some(id("-g"))).unwrap();
        }
        let data_s = data.to_str().unwrap();
        run(&bin.join("initdb"), &["-D", data_s, "-U", "zk", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        let port = super::free_port();
        let opts = format!(
            "-h 127.0.0.1 -p {port} -k {} -F -c max_connections=200 -c shared_buffers=32MB",
            dir.path().display()
        );
        let log = dir.path().join("server.log");
        run(
            &bin.join("pg_ctl"),
            &["-D", data_s, "-l", log.to_str().unwrap(), "-o", &opts, "-w", "-t", "60", "start"],
        );
        let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
        let pid = pid_file.lines().next().unwrap().trim().parse().unwrap();
        Self { port, pid, bin, dir, next_db: 0.into() }
    }

    /// A fresh database on the server; returns its URL.
    pub fn database(&self) -> String {
        let n = self.next_db.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("zk{n}");
        let port = self.port.to_string();
        run(&self.bin.join("createdb"), &["-h", "127.0.0.1", "-p", &port, "-U", "zk", &name]);
        format!("postgres://zk@127.0.0.1:{port}/{name}")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Fast shutdown by PID (SIGINT), then wait for the postmaster to exit before the directory goes.
        let _ = Command::new("kill").args(["-INT", &self.pid.to_string()]).status();
        let start = Instant::now();
        while alive(self.pid) && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}
