//! `bpfilter daemon`: one long-running process serving the trapped `IPT_SO_*` calls of every
//! `bpfilter exec` that hands it its seccomp listener.
//!
//! # Protocol (version 2)
//!
//! A Unix `SOCK_SEQPACKET` socket (default [`DEFAULT_SOCKET`], mode 0600 in a 0700
//! directory). One connection carries one command's listener, and stays open while the
//! daemon serves it:
//!
//! ```text
//!  bpfilter exec                                    bpfilter daemon
//!  connect(socket) ──────────────────────────────▶  accept; SO_PEERCRED: uid 0 or refused
//!  spawn CMD under the filter (it waits, trapped)
//!  HELLO + SCM_RIGHTS(listener fd) ──────────────▶  check magic, version, one seccomp fd
//!                                   ◀──────────────  REPLY ok + state dir, pin dir | error
//!  keep its listener copy; wait for CMD             serve the listener on its own thread,
//!                                   ◀──────────────  IN FLIGHT before answering each call
//!  exit with CMD's status                           its own Service, until POLLHUP
//! ```
//!
//! | message | bytes |
//! |---|---|
//! | HELLO | `"BPFD"`, version `u16` LE, verbosity `u8` (0 quiet, 1, 2 `-v`), reserved `u8` 0 |
//! | REPLY | `"BPFD"`, version `u16` LE, status `u8` (0 ok, 1 error), reserved `u8` 0; ok: state dir, pin dir (each `u16` LE length + absolute path bytes); error: a UTF-8 message (at most [`MAX_MESSAGE`] bytes) |
//! | IN FLIGHT | `"BPFD"`, version `u16` LE, kind `u8` 2, reserved `u8` 0, the received `seccomp_notif` as [`Notif`] holds it: id `u64`, pid `u32`, nr `i32`, arch `u32`, args `6 × u64` (all LE) |
//!
//! A daemon refuses a version it does not speak with an error naming the versions it does
//! (a version 1 daemon refuses a version 2 exec the same way, and exec serves in-process).
//!
//! # Takeover
//!
//! If the connection hangs up while CMD still runs (the daemon died, or stopped after its
//! drain), exec takes over with its listener copy ([`Spawned::wait_or_take_over`]), with the
//! state and pin directories of the REPLY (one namespace is never kept in two places). The
//! daemon answers a client's calls one at a time, so at most one is received and unanswered:
//! the last IN FLIGHT. If the kernel still has it pending, an open or a getsockopt is served
//! again (idempotent), a setsockopt is answered EAGAIN (the daemon may have applied it; it is
//! never applied twice). A call received after the last announcement (the daemon died in
//! between) is found by its id (ids are consecutive) and answered EAGAIN; only a death between
//! receiving the client's very first call and announcing it leaves that call waiting (until
//! its task is killed).
//! A peer whose uid (at `connect`) is not 0 is refused before anything is read, with a logged
//! warning: the socket's permissions already keep others out; this is the second lock.
//!
//! # Serving
//!
//! Each client gets a thread and a [`Service`](crate::service::handler::Service) of its own,
//! built by [`bpf_service`] exactly as `bpfilter exec` builds its in-process one: the
//! per-namespace file lock and the state generation keep any number of them (threads here,
//! other processes) consistent. The thread ends when no task uses the filter any more.
//!
//! SIGTERM / SIGINT: the daemon stops accepting and removes its socket; connected clients are
//! served for [`DRAIN`] more (so a running iptables command can finish), then each thread
//! returns after the call it is in (its client's exec takes over); after [`STOP_LIMIT`] the
//! daemon exits regardless (a replace cut short is repaired by the next server, as after
//! `kill -9`). Rules stay enforced while no daemon runs: everything is pinned.
//!
//! Logs: [`crate::journal`] lines on stderr (`<N>level=... msg=... key=value`).

#[cfg(doc)]
use crate::intercept::Spawned;
use crate::intercept::{serve_listener, Remote, Rescue, SockoptHandler};
use crate::journal::{log, Dbg, Level};
use crate::service::setup::{bpf_service, ensure_bpffs, Paths};
use crate::sys::seccomp::{Listener, Notif, NR_GETSOCKOPT, NR_SETSOCKOPT};
use crate::sys::unix;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/bpfilter/bpfilter.sock";
/// The first bytes of every message.
pub const MAGIC: [u8; 4] = *b"BPFD";
/// The protocol version this build speaks.
pub const VERSION: u16 = 2;
/// Longest error message in a REPLY.
pub const MAX_MESSAGE: usize = 512;
/// Longest directory path in a REPLY (`PATH_MAX`).
pub const MAX_PATH: usize = 4096;
/// The kind byte of an IN FLIGHT message.
const KIND_IN_FLIGHT: u8 = 2;
/// Length of an IN FLIGHT message.
const IN_FLIGHT_LEN: usize = HEADER_LEN + 8 + 4 + 4 + 4 + 6 * 8;
/// Longest REPLY.
const MAX_REPLY: usize = HEADER_LEN + 2 * (2 + MAX_PATH);
/// How long connected clients are still served after SIGTERM.
pub const DRAIN: Duration = Duration::from_secs(3);
/// How long the daemon waits in all for its threads after SIGTERM.
pub const STOP_LIMIT: Duration = Duration::from_secs(30);
/// Clients served at once; more are refused ("busy") rather than starving the machine.
pub const MAX_CLIENTS: usize = 1024;
/// A handshake message must arrive within this (either side).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_LEN: usize = 8;

/// The client's HELLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version.
    pub version: u16,
    /// The client's log verbosity (the daemon logs this client's calls at the higher of its
    /// own and this).
    pub verbosity: u8,
}

impl Hello {
    /// The wire form.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let v = self.version.to_le_bytes();
        let [m0, m1, m2, m3] = MAGIC;
        [m0, m1, m2, m3, v[0], v[1], self.verbosity, 0]
    }

    /// Parse a HELLO; the error is the message the client gets back.
    pub fn decode(b: &[u8]) -> Result<Hello, String> {
        let Some((magic, rest)) = b.split_first_chunk::<4>() else {
            return Err(format!("short hello ({} bytes)", b.len()));
        };
        if *magic != MAGIC {
            return Err("not a bpfilter hello (bad magic)".into());
        }
        let Some(([v0, v1, verbosity, _reserved], _)) = rest.split_first_chunk::<4>() else {
            return Err(format!("short hello ({} bytes)", b.len()));
        };
        let version = u16::from_le_bytes([*v0, *v1]);
        if version != VERSION {
            return Err(format!(
                "unsupported protocol version {version} (this daemon speaks {VERSION})"
            ));
        }
        Ok(Hello {
            version,
            verbosity: *verbosity,
        })
    }
}

/// The daemon's REPLY in wire form: `Ok` with the daemon's state and pin directories (each
/// cut to [`MAX_PATH`] bytes: the daemon checks them at start), or an error message (cut to
/// [`MAX_MESSAGE`]).
pub fn encode_reply(result: Result<&Paths, &str>) -> Vec<u8> {
    let v = VERSION.to_le_bytes();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&v);
    match result {
        Ok(paths) => {
            out.extend_from_slice(&[0, 0]);
            for dir in [&paths.state, &paths.pins] {
                let b = dir.as_os_str().as_bytes();
                let b = b.get(..MAX_PATH).unwrap_or(b);
                let len = u16::try_from(b.len()).unwrap_or(0);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(b.get(..usize::from(len)).unwrap_or(&[]));
            }
        }
        Err(msg) => {
            out.extend_from_slice(&[1, 0]);
            let mut end = msg.len().min(MAX_MESSAGE);
            while !msg.is_char_boundary(end) {
                end = end.saturating_sub(1);
            }
            out.extend_from_slice(msg.get(..end).unwrap_or("").as_bytes());
        }
    }
    out
}

/// Parse a REPLY: `Ok(Ok(paths))` accepted (the daemon's directories), `Ok(Err(msg))` refused
/// with the daemon's reason, `Err` not a valid reply.
pub fn decode_reply(b: &[u8]) -> Result<Result<Paths, String>, String> {
    let Some((magic, rest)) = b.split_first_chunk::<4>() else {
        return Err("no reply".into());
    };
    let Some(([v0, v1, status, _], mut body)) = rest.split_first_chunk::<4>() else {
        return Err("short reply".into());
    };
    if *magic != MAGIC {
        return Err("not a bpfilter reply (bad magic)".into());
    }
    if *status != 0 {
        return Ok(Err(String::from_utf8_lossy(body).into_owned()));
    }
    let version = u16::from_le_bytes([*v0, *v1]);
    if version != VERSION {
        return Err(format!(
            "unsupported protocol version {version} in the reply"
        ));
    }
    let mut dir = || {
        let (len, rest) = body.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_le_bytes(*len));
        let path = rest.get(..len)?;
        body = rest.get(len..)?;
        Some(PathBuf::from(OsStr::from_bytes(path)))
    };
    match (dir(), dir()) {
        (Some(state), Some(pins)) if state.is_absolute() && pins.is_absolute() => {
            Ok(Ok(Paths { state, pins }))
        }
        _ => Err("malformed directories in the reply".into()),
    }
}

/// An IN FLIGHT message: the call the daemon received and is about to answer.
pub fn encode_in_flight(n: &Notif) -> [u8; IN_FLIGHT_LEN] {
    let mut out = [0u8; IN_FLIGHT_LEN];
    let v = VERSION.to_le_bytes();
    let [m0, m1, m2, m3] = MAGIC;
    let header = [m0, m1, m2, m3, v[0], v[1], KIND_IN_FLIGHT, 0];
    let fields = [
        &n.id.to_le_bytes()[..],
        &n.pid.to_le_bytes(),
        &n.nr.to_le_bytes(),
        &n.arch.to_le_bytes(),
    ];
    let args = n.args.map(u64::to_le_bytes);
    let parts = std::iter::once(&header[..])
        .chain(fields)
        .chain(args.iter().map(|a| &a[..]));
    for (slot, byte) in out.iter_mut().zip(parts.flatten()) {
        *slot = *byte;
    }
    out
}

/// Parse an IN FLIGHT message.
pub fn decode_in_flight(b: &[u8]) -> Result<Notif, String> {
    if b.len() != IN_FLIGHT_LEN {
        return Err(format!("in-flight message of {} bytes", b.len()));
    }
    let Some((header, body)) = b.split_first_chunk::<HEADER_LEN>() else {
        return Err("short in-flight message".into());
    };
    let [m0, m1, m2, m3, v0, v1, kind, _] = *header;
    if [m0, m1, m2, m3] != MAGIC || u16::from_le_bytes([v0, v1]) != VERSION {
        return Err("not a bpfilter message of this version".into());
    }
    if kind != KIND_IN_FLIGHT {
        return Err(format!("unexpected message kind {kind}"));
    }
    let mut rest = body;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at_checked(n).unwrap_or((&[], &[]));
        rest = tail;
        head
    };
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
    let half = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or_default());
    let id = word(take(8));
    let pid = half(take(4));
    let nr = i32::from_le_bytes(take(4).try_into().unwrap_or_default());
    let arch = half(take(4));
    let args = [(); 6].map(|()| word(take(8)));
    Ok(Notif {
        id,
        pid,
        nr,
        arch,
        args,
    })
}

/// Why a hand-off to the daemon did not happen.
#[derive(Debug)]
pub enum HandOffError {
    /// Nothing listens at the socket (or it cannot be reached): nothing was sent.
    Unreachable(io::Error),
    /// The daemon answered with an error.
    Refused(String),
    /// The exchange broke off (the daemon went away, a timeout, a garbled reply).
    Failed(String),
}

impl fmt::Display for HandOffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandOffError::Unreachable(e) => write!(f, "cannot reach the daemon: {e}"),
            HandOffError::Refused(m) => write!(f, "the daemon refused: {m}"),
            HandOffError::Failed(m) => write!(f, "the hand-off to the daemon failed: {m}"),
        }
    }
}

/// Connect to the daemon at `socket` (before spawning anything, so the caller can decide
/// where the command will be served).
pub fn connect(socket: &Path) -> Result<OwnedFd, HandOffError> {
    let c = unix::connect_seqpacket(socket).map_err(HandOffError::Unreachable)?;
    unix::set_timeouts(c.as_fd(), HANDSHAKE_TIMEOUT).map_err(HandOffError::Unreachable)?;
    Ok(c)
}

/// Send `listener` over `conn` and wait for the daemon's answer. On `Ok` the daemon serves
/// it; the caller keeps its own copy and waits with the returned [`Session`]
/// ([`Spawned::wait_or_take_over`]), which takes over if the daemon goes away.
pub fn hand_off(
    conn: OwnedFd,
    listener: BorrowedFd<'_>,
    verbosity: u8,
) -> Result<Session, HandOffError> {
    let hello = Hello {
        version: VERSION,
        verbosity,
    };
    let broke = |what: &str, e: io::Error| HandOffError::Failed(format!("{what}: {e}"));
    // A daemon that refuses the peer (not root) answers and closes without reading: the send
    // then fails (EPIPE) but the refusal is already queued here, and it is the better error.
    let sent = unix::send_msg(conn.as_fd(), &hello.encode(), Some(listener));
    let mut buf = [0u8; MAX_REPLY];
    let received = unix::recv_msg(conn.as_fd(), &mut buf);
    let (n, _fds) = match (sent, received) {
        (Err(e), Ok((0, _)) | Err(_)) => return Err(broke("send", e)),
        (_, Err(e)) => return Err(broke("receive", e)),
        (_, Ok(r)) => r,
    };
    if n == 0 {
        return Err(HandOffError::Failed(
            "the daemon closed the connection".into(),
        ));
    }
    match decode_reply(buf.get(..n).unwrap_or(&[])) {
        Ok(Ok(paths)) => Ok(Session {
            conn,
            paths,
            verbosity,
            in_flight: None,
        }),
        Ok(Err(m)) => Err(HandOffError::Refused(m)),
        Err(m) => Err(HandOffError::Failed(m)),
    }
}

/// exec's side of an accepted hand-off: the open connection, the daemon's directories, and
/// the call it announced last. Its [`Remote`] implementation is the takeover.
#[derive(Debug)]
pub struct Session {
    conn: OwnedFd,
    paths: Paths,
    verbosity: u8,
    in_flight: Option<Notif>,
}

impl Session {
    /// The daemon's state and pin directories (from its REPLY).
    pub fn paths(&self) -> &Paths {
        &self.paths
    }
}

impl Remote for Session {
    fn conn(&self) -> BorrowedFd<'_> {
        self.conn.as_fd()
    }

    fn read(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; IN_FLIGHT_LEN];
        match unix::recv_msg(self.conn.as_fd(), &mut buf) {
            Ok((0, _)) => Ok(false),
            Ok((n, _fds)) => {
                match decode_in_flight(buf.get(..n).unwrap_or(&[])) {
                    Ok(notif) => self.in_flight = Some(notif),
                    Err(e) => {
                        // Nothing else is ever sent: a takeover must not trust a stale one.
                        self.in_flight = None;
                        log(
                            Level::Warning,
                            self.verbosity,
                            "unexpected message from the daemon",
                            &[("reason", &e)],
                        );
                    }
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(true),
            // Reset, or any other failure: the daemon is not there to serve.
            Err(_) => Ok(false),
        }
    }

    fn in_flight(&self) -> Option<Notif> {
        self.in_flight
    }

    fn take_over(&mut self) -> io::Result<Box<dyn SockoptHandler>> {
        log(
            Level::Warning,
            self.verbosity,
            "the daemon went away; serving in-process",
            &[
                ("state_dir", &self.paths.state.display()),
                ("pin_dir", &self.paths.pins.display()),
            ],
        );
        ensure_bpffs(&self.paths.pins)?;
        Ok(Box::new(bpf_service(self.paths.clone(), self.verbosity)))
    }

    fn rescued(&mut self, what: &Rescue) {
        let v = self.verbosity;
        match what {
            Rescue::Nothing => log(Level::Debug, v, "no call was in flight", &[]),
            Rescue::Served(n) => log(
                Level::Info,
                v,
                "served the call in flight again",
                &[("pid", &n.pid), ("nr", &n.nr)],
            ),
            Rescue::Refused(n) => log(
                Level::Warning,
                v,
                "answered the setsockopt in flight with EAGAIN (the daemon may have applied it)",
                &[("pid", &n.pid), ("optname", &(n.args[2] & 0xffff_ffff))],
            ),
            Rescue::Unannounced(id) => log(
                Level::Warning,
                v,
                "answered a call the daemon received but never announced with EAGAIN",
                &[("id", id)],
            ),
        }
    }

    fn gave_up(&mut self, why: &io::Error) {
        log(
            Level::Err,
            self.verbosity,
            "cannot take over; the command's further calls fail (ENOSYS)",
            &[("reason", why)],
        );
    }
}

/// What `bpfilter daemon` runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// The socket path.
    pub socket: PathBuf,
    /// State and pin directories (the same meaning as for `bpfilter exec`).
    pub paths: Paths,
    /// Log verbosity ([`Level::enabled`]).
    pub verbosity: u8,
    /// Where the LOG target's lines go.
    pub packets: crate::service::logs::LineSink,
}

/// The socket file the daemon created, removed when the daemon stops (if it is still that
/// file: a later daemon may have replaced it).
struct SocketFile {
    path: PathBuf,
    dev_ino: (u64, u64),
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if (m.dev(), m.ino()) == self.dev_ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Bind the socket: create its directory (0700) if missing; a socket file nobody listens on
/// (a daemon that died) is replaced; one that accepts a connection means another daemon.
fn bind(socket: &Path, verbosity: u8) -> io::Result<(OwnedFd, SocketFile)> {
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    match std::fs::symlink_metadata(socket) {
        Ok(m) if !m.file_type().is_socket() => {
            return Err(io::Error::other(format!(
                "{} exists and is not a socket",
                socket.display()
            )));
        }
        Ok(_) => match unix::connect_seqpacket(socket) {
            Ok(_) => {
                return Err(io::Error::other(format!(
                    "another daemon is running (it accepts connections on {})",
                    socket.display()
                )));
            }
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                log(
                    Level::Info,
                    verbosity,
                    "replacing a stale socket",
                    &[("socket", &socket.display())],
                );
                std::fs::remove_file(socket)?;
            }
            Err(e) => {
                return Err(io::Error::other(format!(
                    "{} is in the way: {e}",
                    socket.display()
                )));
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let fd = unix::listen_seqpacket(socket, 0o600, 128)?;
    let m = std::fs::symlink_metadata(socket)?;
    Ok((
        fd,
        SocketFile {
            path: socket.to_path_buf(),
            dev_ino: (m.dev(), m.ino()),
        },
    ))
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// Shared between the accept loop and the client threads: when the stop began.
#[derive(Default)]
struct Stop {
    at: OnceLock<Instant>,
}

impl Stop {
    /// After [`DRAIN`] past the stop, threads return between calls.
    fn drained(&self) -> bool {
        self.at.get().is_some_and(|t| t.elapsed() >= DRAIN)
    }
}

/// Run the daemon until SIGTERM/SIGINT arrives on `sigfd` (from [`unix::term_signalfd`],
/// which must have been made before any thread started).
pub fn run(cfg: &Config, sigfd: OwnedFd) -> io::Result<()> {
    let v = cfg.verbosity;
    // Absolute, as every exec it serves gets them for a takeover (from another directory).
    let paths = Paths {
        state: std::path::absolute(&cfg.paths.state)?,
        pins: std::path::absolute(&cfg.paths.pins)?,
    };
    for dir in [&paths.state, &paths.pins] {
        if dir.as_os_str().len() > MAX_PATH {
            return Err(io::Error::other(format!(
                "{} is longer than {MAX_PATH} bytes",
                dir.display()
            )));
        }
    }
    let cfg = &Config {
        paths,
        ..cfg.clone()
    };
    ensure_bpffs(&cfg.paths.pins)?;
    let (sock, socket_file) = bind(&cfg.socket, v)?;
    log(
        Level::Info,
        v,
        "listening",
        &[
            ("socket", &cfg.socket.display()),
            ("state_dir", &cfg.paths.state.display()),
            ("pin_dir", &cfg.paths.pins.display()),
            ("pid", &std::process::id()),
        ],
    );
    let stop = Arc::new(Stop::default());
    // The LOG ring buffers' reader: one more thread, ended by `stop`.
    let logs = spawn_log_reader(cfg, Arc::clone(&stop))?;
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut next_client: u64 = 0;
    loop {
        let ready = unix::poll_readable(&[sock.as_fd(), sigfd.as_fd()], None)?;
        if ready.get(1).copied().unwrap_or(false) {
            if let Some(sig) = unix::read_signal(sigfd.as_fd())? {
                workers.retain(|w| !w.is_finished());
                log(
                    Level::Info,
                    v,
                    "stopping",
                    &[("signal", &signal_name(sig)), ("clients", &workers.len())],
                );
                break;
            }
        }
        workers.retain(|w| !w.is_finished());
        if !ready.first().copied().unwrap_or(false) {
            continue;
        }
        let conn = match unix::accept(sock.as_fd()) {
            Ok(c) => c,
            Err(e) => {
                log(Level::Err, v, "accept failed", &[("reason", &e)]);
                // EMFILE and friends: do not spin while the condition lasts.
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        next_client = next_client.wrapping_add(1);
        let id = next_client;
        if workers.len() >= MAX_CLIENTS {
            log(
                Level::Warning,
                v,
                "refused client: too many",
                &[("client", &id), ("clients", &workers.len())],
            );
            refuse(conn.as_fd(), "daemon busy");
            continue;
        }
        let paths = cfg.paths.clone();
        let stop = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name(format!("client-{id}"))
            .spawn(move || client(conn, id, paths, v, &stop));
        match spawned {
            Ok(h) => workers.push(h),
            Err(e) => log(
                Level::Err,
                v,
                "cannot start a client thread",
                &[("client", &id), ("reason", &e)],
            ),
        }
    }
    // Stop accepting: new clients find no daemon (and serve themselves, by default).
    drop(sock);
    drop(socket_file);
    let _ = stop.at.set(Instant::now());
    let limit = Instant::now() + STOP_LIMIT;
    while workers.iter().any(|w| !w.is_finished()) && Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = workers.iter().filter(|w| !w.is_finished()).count();
    if left > 0 {
        log(
            Level::Warning,
            v,
            "exiting with calls in progress",
            &[("clients", &left)],
        );
    }
    let _ = logs.join();
    log(Level::Info, v, "stopped", &[]);
    Ok(())
}

/// The thread that follows every namespace's LOG ring buffer and writes the kernel's LOG
/// lines to the configured sink, until the daemon stops (then it drains once more).
fn spawn_log_reader(cfg: &Config, stop: Arc<Stop>) -> io::Result<JoinHandle<()>> {
    use crate::service::logs::{LineWriter, LogReader};
    let mut writer = LineWriter::open(cfg.packets)?;
    let mut reader = LogReader::new(&cfg.paths.pins, &cfg.paths.state);
    std::thread::Builder::new()
        .name("log-reader".into())
        .spawn(move || {
            let mut emit = |l: crate::service::logs::LogLine| writer.write(&l);
            while stop.at.get().is_none() {
                reader.poll(Duration::from_millis(200), &mut emit);
            }
            reader.poll(Duration::ZERO, &mut emit);
        })
}

/// Answer a client with an error without taking its listener. Its HELLO is read (and any
/// descriptor closed) before the connection closes: closing a Unix socket with unread data
/// resets it, and the client would see ECONNRESET instead of the reason.
fn refuse(conn: BorrowedFd<'_>, msg: &str) {
    let _ = unix::set_timeouts(conn, Duration::from_millis(500));
    let _ = unix::send_msg(conn, &encode_reply(Err(msg)), None);
    let mut buf = [0u8; 64];
    let _ = unix::recv_msg(conn, &mut buf);
}

/// Receive a client's HELLO and listener (`None`: it hung up without a word, as a starting
/// daemon's liveness probe does); the error is what the client is told.
fn handshake(conn: BorrowedFd<'_>) -> Result<Option<(Hello, Listener)>, String> {
    let mut buf = [0u8; 64];
    let (n, fds) = unix::recv_msg(conn, &mut buf).map_err(|e| format!("receive: {e}"))?;
    if n == 0 && fds.is_empty() {
        return Ok(None);
    }
    let hello = Hello::decode(buf.get(..n).unwrap_or(&[]))?;
    let mut fds = fds.into_iter();
    let (Some(fd), None) = (fds.next(), fds.next()) else {
        return Err("expected exactly one descriptor (the seccomp listener)".into());
    };
    // Anything else (a file, a socket) would be polled and ioctl'd as if it were one.
    let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| format!("cannot inspect the descriptor: {e}"))?;
    if target.as_os_str() != "anon_inode:seccomp notify" {
        return Err(format!(
            "the descriptor is not a seccomp listener ({})",
            target.display()
        ));
    }
    let listener = Listener::new(fd).map_err(|e| format!("listener: {e}"))?;
    Ok(Some((hello, listener)))
}

/// One client: check the peer, take its listener, serve it until no task uses it.
fn client(conn: OwnedFd, id: u64, paths: Paths, verbosity: u8, stop: &Stop) {
    let v = verbosity;
    if let Err(e) = unix::set_timeouts(conn.as_fd(), HANDSHAKE_TIMEOUT) {
        log(
            Level::Err,
            v,
            "client socket",
            &[("client", &id), ("reason", &e)],
        );
        return;
    }
    let cred = match unix::peer_cred(conn.as_fd()) {
        Ok(c) => c,
        Err(e) => {
            log(
                Level::Err,
                v,
                "SO_PEERCRED failed",
                &[("client", &id), ("reason", &e)],
            );
            return;
        }
    };
    if cred.uid != 0 {
        log(
            Level::Warning,
            v,
            "refused non-root peer",
            &[("client", &id), ("peer_pid", &cred.pid), ("uid", &cred.uid)],
        );
        refuse(
            conn.as_fd(),
            "permission denied: the daemon serves root only",
        );
        return;
    }
    let (hello, listener) = match handshake(conn.as_fd()) {
        Ok(Some(x)) => x,
        Ok(None) => {
            log(
                Level::Debug,
                v,
                "client left without a hello",
                &[("client", &id)],
            );
            return;
        }
        Err(msg) => {
            log(
                Level::Err,
                v,
                "handshake failed",
                &[("client", &id), ("peer_pid", &cred.pid), ("reason", &msg)],
            );
            let _ = unix::send_msg(conn.as_fd(), &encode_reply(Err(&msg)), None);
            return;
        }
    };
    let cv = v.max(hello.verbosity);
    let reply = encode_reply(Ok(&paths));
    let mut svc = bpf_service(paths, cv);
    if let Err(e) = unix::send_msg(conn.as_fd(), &reply, None) {
        // The client will serve its command itself (or give up); two servers would be
        // harmless, but nobody is waiting for this one.
        log(
            Level::Err,
            v,
            "cannot acknowledge",
            &[("client", &id), ("peer_pid", &cred.pid), ("reason", &e)],
        );
        return;
    }
    log(
        Level::Info,
        cv,
        "serving client",
        &[("client", &id), ("peer_pid", &cred.pid)],
    );
    let pause = test_pause();
    let mut announcing = true;
    // Each call is announced before it is served: if this daemon dies with it unanswered,
    // exec knows which call to settle when it takes over.
    let mut announce = |n: &Notif| {
        let paused = pause.filter(|p| p.nr == n.nr);
        if let Some(p) = paused.filter(|p| !p.announced) {
            log(
                Level::Warning,
                cv,
                "test pause before announcing a call",
                &[("client", &id), ("nr", &p.nr), ("ms", &p.ms)],
            );
            std::thread::sleep(Duration::from_millis(p.ms));
        }
        if announcing {
            if let Err(e) = unix::send_msg(conn.as_fd(), &encode_in_flight(n), None) {
                // exec is gone (or stuck for the send timeout): nobody to tell any more.
                log(
                    Level::Debug,
                    cv,
                    "client no longer listens",
                    &[("client", &id), ("reason", &e)],
                );
                announcing = false;
            }
        }
        if let Some(p) = paused.filter(|p| p.announced) {
            log(
                Level::Warning,
                cv,
                "test pause after announcing a call",
                &[("client", &id), ("nr", &p.nr), ("ms", &p.ms)],
            );
            std::thread::sleep(Duration::from_millis(p.ms));
        }
    };
    match serve_listener(&listener, &mut svc, &mut || stop.drained(), &mut announce) {
        Ok((stats, ended)) => log(
            Level::Info,
            cv,
            "client done",
            &[
                ("client", &id),
                ("calls", &stats.trapped),
                ("ended", &Dbg(ended)),
            ],
        ),
        Err(e) => log(
            Level::Err,
            v,
            "serving failed",
            &[("client", &id), ("reason", &e)],
        ),
    }
    // Stopped (SIGTERM): the listener is dropped (between calls, so none is in flight), then
    // the connection: exec sees it hang up and serves the rest of the command itself.
    drop(listener);
    drop(conn);
}

/// A test pause of the daemon around a received call (see [`test_pause`]).
#[derive(Clone, Copy)]
struct TestPause {
    nr: i32,
    announced: bool,
    ms: u64,
}

/// `BPFILTER_TEST_INFLIGHT_PAUSE=get:MS` or `set:MS`: after announcing each getsockopt (or
/// setsockopt) call, sleep MS before serving it, with a logged warning, so the takeover test
/// (tests/e2e/takeover.sh) can kill the daemon with exactly that call in flight;
/// `set-unannounced:MS` sleeps before announcing a setsockopt instead (a call exec never
/// heard of).
fn test_pause() -> Option<TestPause> {
    let v = std::env::var("BPFILTER_TEST_INFLIGHT_PAUSE").ok()?;
    let (which, ms) = v.split_once(':')?;
    let (nr, announced) = match which {
        "get" => (NR_GETSOCKOPT, true),
        "set" => (NR_SETSOCKOPT, true),
        "set-unannounced" => (NR_SETSOCKOPT, false),
        _ => return None,
    };
    Some(TestPause {
        nr,
        announced,
        ms: ms.parse().ok()?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_reply_round_trip_and_refuse_what_they_do_not_know() {
        let h = Hello {
            version: VERSION,
            verbosity: 2,
        };
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
        let mut other = h.encode();
        other[4] = 9;
        assert!(Hello::decode(&other)
            .unwrap_err()
            .contains("unsupported protocol version 9"));
        let mut bad = h.encode();
        bad[0] = b'X';
        assert!(Hello::decode(&bad).is_err());
        assert!(Hello::decode(&h.encode()[..5]).is_err());
        let paths = Paths {
            state: "/run/bpfilter-test/state".into(),
            pins: "/sys/fs/bpf/bpfilter-test".into(),
        };
        assert_eq!(
            decode_reply(&encode_reply(Ok(&paths))),
            Ok(Ok(paths.clone()))
        );
        // A reply of another version, or directories that do not parse, are not an accept.
        let mut old = encode_reply(Ok(&paths));
        old[4] = 1;
        assert!(decode_reply(&old).unwrap_err().contains("version 1"));
        let ok = encode_reply(Ok(&paths));
        assert!(decode_reply(&ok[..ok.len() - 1]).is_err());
        let relative = Paths {
            state: "state".into(),
            pins: "/sys/fs/bpf/x".into(),
        };
        assert!(decode_reply(&encode_reply(Ok(&relative))).is_err());
        assert_eq!(
            decode_reply(&encode_reply(Err("permission denied"))),
            Ok(Err("permission denied".into()))
        );
        let long = "é".repeat(MAX_MESSAGE);
        let r = encode_reply(Err(&long));
        assert!(r.len() <= HEADER_LEN + MAX_MESSAGE);
        assert!(matches!(decode_reply(&r), Ok(Err(m)) if m.chars().all(|c| c == 'é')));
        assert!(decode_reply(b"BPF").is_err());
    }

    #[test]
    fn in_flight_round_trips_every_field_and_refuses_other_messages() {
        let n = Notif {
            id: 0x0123_4567_89ab_cdef,
            pid: 4242,
            nr: NR_SETSOCKOPT,
            arch: crate::sys::seccomp::AUDIT_ARCH_X86_64,
            args: [3, 0, 64, 0x7ffd_0000_1000, 1234, u64::MAX],
        };
        let b = encode_in_flight(&n);
        assert_eq!(b.len(), IN_FLIGHT_LEN);
        assert_eq!(&b[..4], b"BPFD");
        assert_eq!(decode_in_flight(&b), Ok(n));
        // Each field lands in its own place: changing one byte changes one field.
        let mut other = b;
        other[HEADER_LEN + 8] ^= 1;
        assert_eq!(decode_in_flight(&other).map(|m| m.pid), Ok(n.pid ^ 1));
        let mut last = b;
        last[IN_FLIGHT_LEN - 1] = 0;
        assert_eq!(
            decode_in_flight(&last).map(|m| m.args[5]),
            Ok(u64::MAX >> 8)
        );
        let mut version = b;
        version[4] = 1;
        assert!(decode_in_flight(&version).is_err());
        let mut kind = b;
        kind[6] = 0;
        assert!(decode_in_flight(&kind).is_err());
        assert!(decode_in_flight(&b[..IN_FLIGHT_LEN - 1]).is_err());
        // A REPLY is not an in-flight message.
        assert!(decode_in_flight(&encode_reply(Err("x"))).is_err());
    }
}
