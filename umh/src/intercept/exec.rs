//! `bpfilter exec -- CMD`: run a command under the filter and serve its calls until it and
//! every descendant that inherited the filter are gone.
//!
//! The end is seen from two sides: the child's pidfd turns readable when it exits (it is reaped
//! then, which also drops its hold on the filter), and the listener reports POLLHUP once no
//! task uses the filter any more — the last descendant has exited too.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use super::{service, SockoptHandler, Stats};
use crate::sys::procmem;
use crate::sys::seccomp::{self, Listener, Wake};
use crate::sys::unix;

/// How long to keep serving after a timeout killed the command's process group.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// Longest single poll when there is no deadline (the loop just polls again).
const POLL_SLICE: Duration = Duration::from_secs(60);

/// What [`Exec::run`] returns.
#[derive(Debug)]
pub struct Outcome {
    /// The command's exit status.
    pub status: ExitStatus,
    /// The trapped calls.
    pub stats: Stats,
}

/// A command to run under interception, with options.
#[derive(Debug)]
pub struct Exec {
    command: Command,
    join_netns: Option<OwnedFd>,
    new_netns: bool,
    timeout: Option<Duration>,
}

impl Exec {
    /// `cmd[0]` (searched in `PATH`) with arguments `cmd[1..]`.
    pub fn new(cmd: &[OsString]) -> io::Result<Exec> {
        let (prog, args) = cmd
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut command = Command::new(prog);
        command.args(args);
        Ok(Exec::from_command(command))
    }

    /// Any prepared command (stdio, environment, directory are kept).
    pub fn from_command(command: Command) -> Exec {
        Exec {
            command,
            join_netns: None,
            new_netns: false,
            timeout: None,
        }
    }

    /// The command, to set stdio or the environment.
    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Run the command in the network namespace `netns` (an fd for `/proc/PID/ns/net` or a
    /// bind mount of one).
    pub fn join_netns(mut self, netns: OwnedFd) -> Exec {
        self.join_netns = Some(netns);
        self
    }

    /// Run the command in a fresh network namespace of its own (after `join_netns`, if both).
    pub fn new_netns(mut self) -> Exec {
        self.new_netns = true;
        self
    }

    /// Give up after `limit`: the command then runs in its own process group, which is sent
    /// SIGKILL, and `run` returns `TimedOut`. (Without a timeout the command stays in the
    /// caller's process group, so a terminal's Ctrl-C reaches it.)
    pub fn timeout(mut self, limit: Duration) -> Exec {
        self.timeout = Some(limit);
        self
    }

    /// Spawn the command under the filter and answer its calls with `handler` until it and all
    /// its filtered descendants have exited.
    pub fn run<H: SockoptHandler>(self, handler: H) -> io::Result<Outcome> {
        self.spawn()?.serve(handler)
    }

    /// Spawn the command under the filter and stop there: its first trapped call waits until
    /// someone answers on [`Spawned::listener`]. Then either [`Spawned::serve`] it here, or
    /// hand the listener to another process (the daemon) and [`Spawned::wait`].
    pub fn spawn(mut self) -> io::Result<Spawned> {
        if self.timeout.is_some() {
            self.command.process_group(0);
        }
        let (child, listener) = seccomp::spawn_filtered(
            &mut self.command,
            self.join_netns.as_ref().map(|f| f.as_fd()),
            self.new_netns,
        )?;
        Ok(Spawned {
            child,
            listener,
            timeout: self.timeout,
        })
    }
}

/// A command running under the filter, not served yet (see [`Exec::spawn`]).
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    listener: Listener,
    timeout: Option<Duration>,
}

impl Spawned {
    /// The seccomp listener of the command's trapped calls.
    pub fn listener(&self) -> &Listener {
        &self.listener
    }

    /// The command's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Answer the command's calls with `handler` until it and all its filtered descendants
    /// have exited.
    pub fn serve<H: SockoptHandler>(self, mut handler: H) -> io::Result<Outcome> {
        let Spawned {
            mut child,
            listener,
            timeout,
        } = self;
        let served = serve_until_gone(&mut child, Some((&listener, &mut handler)), timeout);
        finish(&mut child, timeout, served)
    }

    /// Someone else serves the calls now (the listener was handed over): close this copy and
    /// wait for the command itself to exit (descendants it leaves behind are the server's
    /// business). The timeout applies as in [`Spawned::serve`].
    pub fn wait(self) -> io::Result<ExitStatus> {
        let Spawned {
            mut child,
            listener,
            timeout,
        } = self;
        drop(listener);
        let served = serve_until_gone(&mut child, None, timeout);
        Ok(finish(&mut child, timeout, served)?.status)
    }

    /// Kill the command (nobody will serve it) and reap it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn finish(
    child: &mut Child,
    timeout: Option<Duration>,
    served: io::Result<(ExitStatus, Stats, bool)>,
) -> io::Result<Outcome> {
    if served.is_err() {
        // Never leave a command behind that nobody answers.
        let _ = child.kill();
        let _ = child.wait();
    }
    let (status, stats, killed) = served?;
    if killed {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("command killed after {timeout:?}: {status}"),
        ));
    }
    Ok(Outcome { status, stats })
}

/// The service loop: answer notifications until the listener hangs up (no filtered task is
/// left). Without a listener (it was handed over), just wait for the child. Returns the
/// child's status, the statistics, and whether the timeout killed it.
fn serve_until_gone(
    child: &mut Child,
    mut serving: Option<(&Listener, &mut dyn SockoptHandler)>,
    timeout: Option<Duration>,
) -> io::Result<(ExitStatus, Stats, bool)> {
    // An unreaped child's pid cannot be reused, so this pidfd is the child's.
    let child_pidfd = procmem::pidfd_open(child.id())?;
    let mut stats = Stats::default();
    let mut status: Option<ExitStatus> = None;
    let mut deadline = timeout.map(|t| Instant::now() + t);
    let mut killed = false;

    loop {
        let slice = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => POLL_SLICE,
        };
        let extra = if status.is_none() {
            Some(child_pidfd.as_fd())
        } else {
            None
        };
        let wake = match &serving {
            Some((listener, _)) => listener.wait(extra, slice)?,
            None => Wake {
                extra: unix::poll_readable(&[child_pidfd.as_fd()], Some(slice))?
                    .first()
                    .copied()
                    .unwrap_or(false),
                ..Wake::default()
            },
        };
        if wake.notif {
            if let Some((listener, handler)) = &mut serving {
                match listener.recv() {
                    Ok(n) => {
                        if let Some(r) = service::serve(listener, *handler, &n) {
                            stats.record(r);
                        }
                    }
                    // ENOENT: the task died before we picked it up; EINTR: retry.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EINTR)) => {}
                    Err(e) => return Err(e),
                }
            }
            continue;
        }
        if wake.extra && status.is_none() {
            status = child.try_wait()?;
        }
        // Served here: until no filtered task is left. Handed over: until the child is gone.
        if wake.hangup || (serving.is_none() && status.is_some()) {
            break;
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                if killed {
                    break;
                }
                // The command runs in its own process group (pgid = its pid).
                let _ = procmem::signal_process_group(child.id(), libc::SIGKILL);
                let _ = child.kill();
                killed = true;
                deadline = Some(Instant::now() + KILL_GRACE);
            }
        }
    }
    let status = match status {
        Some(s) => s,
        // The listener hung up, so the child has exited; only the reaping is left.
        None => child.wait()?,
    };
    Ok((status, stats, killed))
}

/// Run `cmd` under the filter, answering its IPT_SO_* calls with `handler`, until it and all its
/// descendants have exited; returns its exit status.
pub fn exec(cmd: &[OsString], handler: impl SockoptHandler) -> io::Result<ExitStatus> {
    Ok(Exec::new(cmd)?.run(handler)?.status)
}

/// Why [`serve_listener`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// No task uses the filter any more (POLLHUP).
    HungUp,
    /// `stop` said so (between calls, never in the middle of one).
    Stopped,
}

/// How often [`serve_listener`] asks `stop` while no call arrives.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Serve a listener someone handed over (the daemon's side of [`Spawned::wait`]): answer its
/// calls with `handler` until no task uses the filter any more, or until `stop` returns true
/// (asked between calls, so a call in progress always finishes).
pub fn serve_listener(
    listener: &Listener,
    handler: &mut dyn SockoptHandler,
    stop: &mut dyn FnMut() -> bool,
) -> io::Result<(Stats, Ended)> {
    let mut stats = Stats::default();
    loop {
        if stop() {
            return Ok((stats, Ended::Stopped));
        }
        let wake = listener.wait(None, STOP_POLL)?;
        if wake.notif {
            match listener.recv() {
                Ok(n) => {
                    if let Some(r) = service::serve(listener, handler, &n) {
                        stats.record(r);
                    }
                }
                // ENOENT: the task died before we picked it up; EINTR: retry.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EINTR)) => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        if wake.hangup {
            return Ok((stats, Ended::HungUp));
        }
    }
}
