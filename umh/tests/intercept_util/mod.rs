//! Shared helpers for the interception tests: a throwaway network namespace, running a command
//! with or without interception, bounded waits.
#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bpfilter_umh::intercept::{Exec, Outcome, SockoptHandler};

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Root is needed for namespaces, seccomp listeners on other tasks' memory and x_tables.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|r| r.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false)
}

/// Skip (with a message) unless root and iptables-legacy is installed.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::intercept_util::is_root() || !$crate::intercept_util::have("iptables-legacy") {
            eprintln!("skipped: needs root and iptables-legacy");
            return;
        }
    };
}

/// Is `prog` in PATH?
pub fn have(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// The system python (the pyenv shim works too but is slower).
pub fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").is_file() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// A fresh network namespace, kept alive by a `sleep` started under `unshare -n`; killed (our
/// own child, by its handle) and reaped on drop, after which the namespace vanishes.
pub struct Netns {
    holder: Child,
}

impl Netns {
    pub fn new() -> Netns {
        let mut holder = Command::new("unshare")
            .args(["-n", "--", "sleep", "300"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mine = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
        let start = Instant::now();
        loop {
            let theirs = std::fs::metadata(format!("/proc/{}/ns/net", holder.id()))
                .map(|m| m.ino())
                .unwrap_or(mine);
            if theirs != mine {
                break;
            }
            if start.elapsed() > LIMIT {
                let _ = holder.kill();
                let _ = holder.wait();
                panic!("unshare -n did not create a namespace");
            }
            thread::sleep(Duration::from_millis(5));
        }
        Netns { holder }
    }

    /// `/proc/PID/ns/net` of the holder.
    pub fn path(&self) -> String {
        format!("/proc/{}/ns/net", self.holder.id())
    }

    /// A new fd for the namespace.
    pub fn fd(&self) -> OwnedFd {
        File::open(self.path()).unwrap().into()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// What a command printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

fn reader(r: std::io::PipeReader) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let mut r = r;
        let _ = r.read_to_string(&mut s);
        s
    })
}

fn to_os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Run `args` under interception in `netns`, answered by `handler`.
pub fn intercepted<H: SockoptHandler>(
    netns: &Netns,
    args: &[&str],
    handler: H,
) -> (Output, Outcome) {
    let mut ex = Exec::new(&to_os(args))
        .unwrap()
        .join_netns(netns.fd())
        .timeout(LIMIT);
    let (out_r, out_w) = std::io::pipe().unwrap();
    let (err_r, err_w) = std::io::pipe().unwrap();
    ex.command_mut()
        .stdin(Stdio::null())
        .stdout(out_w)
        .stderr(err_w);
    let (o, e) = (reader(out_r), reader(err_r));
    let outcome = ex.run(handler).unwrap();
    let out = Output {
        status: outcome.status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    };
    (out, outcome)
}

/// Run `args` in `netns` without interception (`nsenter --net`), bounded by [`LIMIT`].
pub fn direct(netns: &Netns, args: &[&str]) -> Output {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", netns.path()))
        .arg("--")
        .args(args);
    bounded_output(cmd)
}

/// `Command::output` with a time limit (the child is killed and the test fails past it).
pub fn bounded_output(mut cmd: Command) -> Output {
    let (out_r, out_w) = std::io::pipe().unwrap();
    let (err_r, err_w) = std::io::pipe().unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out_w)
        .stderr(err_w)
        .spawn()
        .unwrap();
    drop(cmd);
    let (o, e) = (reader(out_r), reader(err_r));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("command did not finish within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(2));
    };
    Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    }
}
