//! `bpfilter exec -- CMD`: run a command under the filter and serve its calls until it and
//! every descendant that inherited the filter are gone.
//!
//! The end is seen from two sides: the child's pidfd turns readable when it exits (it is reaped
//! then, which also drops its hold on the filter), and the listener reports POLLHUP once no
//! task uses the filter any more — the last descendant has exited too.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use super::{service, SockoptHandler, Stats};
use crate::sys::procmem;
use crate::sys::seccomp::{self, Listener, Notif, Response, Wake, NR_SETSOCKOPT};
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
        let mut clock = Clock::new(timeout);
        let mut stats = Stats::default();
        let served = serve_until_gone(
            &mut child,
            Some((&listener, &mut handler)),
            None,
            &mut clock,
            &mut stats,
        );
        finish(&mut child, &clock, served.map(|u| (u, stats)))
    }

    /// Someone else serves the calls now (the listener was handed over to `remote`): wait for
    /// the command itself to exit (descendants it leaves behind are the server's business),
    /// keeping this copy of the listener. If the server goes away while the command still
    /// runs, take over: settle the call it had in flight ([`Rescue`]), then serve the listener
    /// here with [`Remote::take_over`]'s handler until no filtered task is left, as
    /// [`Spawned::serve`] does. The timeout applies as there.
    pub fn wait_or_take_over(self, remote: &mut dyn Remote) -> io::Result<Outcome> {
        let Spawned {
            mut child,
            listener,
            timeout,
        } = self;
        let mut clock = Clock::new(timeout);
        let mut stats = Stats::default();
        let mut served = serve_until_gone(
            &mut child,
            None,
            Some((&listener, &mut *remote)),
            &mut clock,
            &mut stats,
        );
        if let Ok(Until::ServerGone) = served {
            served = match remote.take_over() {
                Ok(mut handler) => {
                    let what = rescue(&listener, &mut *handler, remote.in_flight(), &mut stats);
                    remote.rescued(&what);
                    let h: &mut dyn SockoptHandler = &mut *handler;
                    serve_until_gone(
                        &mut child,
                        Some((&listener, h)),
                        None,
                        &mut clock,
                        &mut stats,
                    )
                }
                Err(e) => {
                    // Nobody can serve: closing the last listener makes every trapped call
                    // (a pending one included) fail with ENOSYS rather than wait forever.
                    drop(listener);
                    remote.gave_up(&e);
                    serve_until_gone(&mut child, None, None, &mut clock, &mut stats)
                }
            };
        }
        finish(&mut child, &clock, served.map(|u| (u, stats)))
    }

    /// Kill the command (nobody will serve it) and reap it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn finish(
    child: &mut Child,
    clock: &Clock,
    served: io::Result<(Until, Stats)>,
) -> io::Result<Outcome> {
    let served = served.and_then(|(until, stats)| match until {
        Until::Exited(status) => Ok((status, stats)),
        Until::ServerGone => Err(io::Error::other("the server went away")),
    });
    if served.is_err() {
        // Never leave a command behind that nobody answers.
        let _ = child.kill();
        let _ = child.wait();
    }
    let (status, stats) = served?;
    if clock.killed {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("command killed after {:?}: {status}", clock.timeout),
        ));
    }
    Ok(Outcome { status, stats })
}

/// The server a listener was handed to (the daemon), as the command's side sees it: a
/// connection on which the server announces each call before it answers it, and which hangs
/// up when the server goes away.
pub trait Remote {
    /// The connection: readable when a message is there or the server hung up.
    fn conn(&self) -> BorrowedFd<'_>;
    /// Read one message (the connection polled readable); `Ok(false)`: the server is gone.
    fn read(&mut self) -> io::Result<bool>;
    /// The call the server announced last: received, perhaps not answered.
    fn in_flight(&self) -> Option<Notif>;
    /// The server is gone while the command runs: the handler to serve with from now on.
    fn take_over(&mut self) -> io::Result<Box<dyn SockoptHandler>>;
    /// Told what became of the call the server had in flight.
    fn rescued(&mut self, what: &Rescue);
    /// Told that the takeover failed (the command's further calls fail with ENOSYS).
    fn gave_up(&mut self, why: &io::Error);
}

/// What a takeover did with the call the departed server had received but not answered. A
/// server answers one call at a time, so there is at most one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rescue {
    /// None was pending.
    Nothing,
    /// The announced call was still pending, an open or a getsockopt (idempotent): served
    /// again here, as if just received.
    Served(Notif),
    /// The announced call was still pending and a setsockopt, which the server may or may not
    /// have applied: answered EAGAIN, never applied twice.
    Refused(Notif),
    /// A call the server received after its last announcement (it died in between, so never
    /// served it) was found pending by its id: answered EAGAIN, its content being unknown.
    Unannounced(u64),
}

/// How far past the last announced id [`rescue`] looks for a call the server received but did
/// not announce. Ids are consecutive per filter; only calls whose task was killed before
/// anyone received them leave gaps.
const PROBE_IDS: u64 = 256;

/// Settle the departed server's call in flight (see [`Rescue`]); the listener's other calls
/// are still queued for whoever receives next.
fn rescue(
    listener: &Listener,
    handler: &mut dyn SockoptHandler,
    in_flight: Option<Notif>,
    stats: &mut Stats,
) -> Rescue {
    let Some(n) = in_flight else {
        return Rescue::Nothing;
    };
    if listener.id_valid(n.id) {
        if n.nr == NR_SETSOCKOPT {
            let _ = listener.respond(n.id, Response::Errno(libc::EAGAIN));
            return Rescue::Refused(n);
        }
        if let Some(r) = service::serve(listener, handler, &n) {
            stats.record(r);
        }
        return Rescue::Served(n);
    }
    // Answered: the server may have received the next call and died before announcing it.
    // ID_VALID is true only for a received, unanswered call, and nobody else receives now.
    for k in 1..=PROBE_IDS {
        let id = n.id.wrapping_add(k);
        if listener.id_valid(id) {
            let _ = listener.respond(id, Response::Errno(libc::EAGAIN));
            return Rescue::Unannounced(id);
        }
    }
    Rescue::Nothing
}

/// The timeout's state, kept across a takeover.
struct Clock {
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    killed: bool,
}

impl Clock {
    fn new(timeout: Option<Duration>) -> Clock {
        Clock {
            timeout,
            deadline: timeout.map(|t| Instant::now() + t),
            killed: false,
        }
    }
}

/// How [`serve_until_gone`] ended.
enum Until {
    /// The child exited with this status (and, when served here, no filtered task is left).
    Exited(ExitStatus),
    /// The remote server went away while the child still runs.
    ServerGone,
}

/// The service loop: answer notifications until the listener hangs up (no filtered task is
/// left). Without a listener (it was handed over), just wait for the child — or, with a
/// `remote`, until that server goes away.
fn serve_until_gone(
    child: &mut Child,
    mut serving: Option<(&Listener, &mut dyn SockoptHandler)>,
    mut remote: Option<(&Listener, &mut dyn Remote)>,
    clock: &mut Clock,
    stats: &mut Stats,
) -> io::Result<Until> {
    // An unreaped child's pid cannot be reused, so this pidfd is the child's.
    let child_pidfd = procmem::pidfd_open(child.id())?;
    let mut status: Option<ExitStatus> = None;

    loop {
        let slice = match clock.deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => POLL_SLICE,
        };
        let extra = if status.is_none() {
            Some(child_pidfd.as_fd())
        } else {
            None
        };
        let wake = match (&serving, &remote) {
            (Some((listener, _)), _) => listener.wait(extra, slice)?,
            (None, Some((_, r))) => {
                let ready = unix::poll_readable(&[child_pidfd.as_fd(), r.conn()], Some(slice))?;
                Wake {
                    extra: ready.first().copied().unwrap_or(false),
                    // The server spoke or went away (not the listener: it stays ours).
                    notif: ready.get(1).copied().unwrap_or(false),
                    hangup: false,
                }
            }
            (None, None) => Wake {
                extra: unix::poll_readable(&[child_pidfd.as_fd()], Some(slice))?
                    .first()
                    .copied()
                    .unwrap_or(false),
                ..Wake::default()
            },
        };
        if wake.extra && status.is_none() {
            status = child.try_wait()?;
        }
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
                continue;
            }
            if let Some((listener, r)) = &mut remote {
                // A child that exited meanwhile ends the wait as usual, whatever the server.
                if !r.read()? && status.is_none() {
                    // No filtered task left (the child has exited, not reaped yet): the server
                    // finished its work. Otherwise it went away in the middle.
                    if listener.wait(None, Duration::ZERO)?.hangup {
                        remote = None;
                    } else {
                        return Ok(Until::ServerGone);
                    }
                }
            }
        }
        // Served here: until no filtered task is left. Handed over: until the child is gone.
        if wake.hangup || (serving.is_none() && status.is_some()) {
            break;
        }
        if let Some(d) = clock.deadline {
            if Instant::now() >= d {
                if clock.killed {
                    break;
                }
                // The command runs in its own process group (pgid = its pid).
                let _ = procmem::signal_process_group(child.id(), libc::SIGKILL);
                let _ = child.kill();
                clock.killed = true;
                clock.deadline = Some(Instant::now() + KILL_GRACE);
            }
        }
    }
    let status = match status {
        Some(s) => s,
        // The listener hung up, so the child has exited; only the reaping is left.
        None => child.wait()?,
    };
    Ok(Until::Exited(status))
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

/// Serve a listener someone handed over (the daemon's side of [`Spawned::wait_or_take_over`]):
/// answer its calls with `handler` until no task uses the filter any more, or until `stop`
/// returns true (asked between calls, so a call in progress always finishes). `announce` sees
/// each call after it is received and before it is served; the calls are served one at a
/// time, so at most one is ever received and unanswered.
pub fn serve_listener(
    listener: &Listener,
    handler: &mut dyn SockoptHandler,
    stop: &mut dyn FnMut() -> bool,
    announce: &mut dyn FnMut(&Notif),
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
                    announce(&n);
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
