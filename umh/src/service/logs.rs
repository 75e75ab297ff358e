//! The LOG target's lines: every table bpfilter enforces with LOG rules pins a ring buffer
//! (`PIN/COOKIE/filter/log`); a [`LogReader`] follows all of them and turns each event into
//! the line the kernel's `nf_log_syslog` would print, with the rule's prefix, flags and level.
//!
//! A replace pins a new ring buffer (a new map id) and commits the new table to the state
//! directory before that; a rescan sees the new map, drains the old one with the old rules'
//! prefixes, then switches to the new map and the new table's rules.

use crate::service::NsTables;
use crate::sys::bpf::Map;
use crate::sys::ringbuf::RingBuf;
use bpfilter_core::codegen::compile_log::LogEvent;
use bpfilter_core::codegen::LOG_RINGBUF_SIZE;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ir::{Table, Target};
use bpfilter_core::uapi::cstr;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the pin directory is scanned for new or replaced ring buffers.
const RESCAN: Duration = Duration::from_millis(250);

/// One LOG line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// The rule's `--log-level` (a syslog priority, 0..=7).
    pub level: u8,
    /// The namespace's cookie (its directory under the pin and state directories).
    pub ns: String,
    /// The line, as the kernel prints it (prefix, `IN=`, ..., without a trailing newline).
    pub text: String,
}

/// A LOG rule: what the line takes from the ruleset.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Spec {
    level: u8,
    flags: u8,
    prefix: Vec<u8>,
}

/// The LOG rules of one table, by entry index: what turns its events into lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRules(Vec<Option<Spec>>);

impl LogRules {
    /// The LOG targets of `table`.
    pub fn of(table: &Table) -> LogRules {
        LogRules(
            table
                .entries
                .iter()
                .map(|r| match &r.target {
                    Target::Ext(x) => match &x.value {
                        TargetValue::Log(l) => Some(Spec {
                            level: l.level,
                            flags: l.logflags,
                            prefix: cstr(&l.prefix).to_vec(),
                        }),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
        )
    }

    /// The line for one ring-buffer record of this table's programs (`None`: not an event).
    /// An entry that is not a LOG rule (a table replaced under the reader) prints with no
    /// prefix, default flags and level 4.
    pub fn line(&self, ns: &str, sample: &[u8]) -> Option<LogLine> {
        let ev = LogEvent::parse(sample)?;
        let spec = usize::try_from(ev.entry)
            .ok()
            .and_then(|i| self.0.get(i))
            .cloned()
            .flatten()
            .unwrap_or(Spec {
                level: 4,
                flags: 0,
                prefix: Vec::new(),
            });
        let mut text = String::new();
        ev.write_line(&spec.prefix, spec.flags, &mut text).ok()?;
        Some(LogLine {
            level: spec.level,
            ns: ns.to_string(),
            text,
        })
    }
}

struct Ring {
    map_id: u32,
    ring: RingBuf,
    rules: LogRules,
}

/// Follows the LOG ring buffers of every namespace under a pin directory.
pub struct LogReader {
    pins: PathBuf,
    state: PathBuf,
    rings: BTreeMap<String, Ring>,
    scanned: Option<Instant>,
}

impl LogReader {
    /// A reader of the rings under `pins` (`PIN/COOKIE/filter/log`) whose rules are saved
    /// under `state` (`STATE/COOKIE`).
    pub fn new(pins: &Path, state: &Path) -> LogReader {
        LogReader {
            pins: pins.to_path_buf(),
            state: state.to_path_buf(),
            rings: BTreeMap::new(),
            scanned: None,
        }
    }

    /// How many ring buffers are followed.
    pub fn rings(&self) -> usize {
        self.rings.len()
    }

    /// Pick up new and replaced ring buffers; lines left in a replaced one go to `out`.
    pub fn rescan(&mut self, out: &mut dyn FnMut(LogLine)) {
        self.scanned = Some(Instant::now());
        let mut seen = Vec::new();
        if let Ok(dirs) = std::fs::read_dir(&self.pins) {
            for d in dirs.flatten() {
                let ns = d.file_name().to_string_lossy().into_owned();
                let Ok(map) = Map::from_pinned(&d.path().join("filter").join("log")) else {
                    continue;
                };
                seen.push(ns.clone());
                let id = map.info().id;
                if self.rings.get(&ns).is_some_and(|r| r.map_id == id) {
                    continue;
                }
                if let Some(mut old) = self.rings.remove(&ns) {
                    drain(&ns, &mut old, out);
                }
                let Ok(ring) = RingBuf::open(map, usize::try_from(LOG_RINGBUF_SIZE).unwrap_or(0))
                else {
                    continue;
                };
                let rules = saved_rules(&self.state.join(&ns));
                self.rings.insert(
                    ns,
                    Ring {
                        map_id: id,
                        ring,
                        rules,
                    },
                );
            }
        }
        // Namespaces whose table lost its LOG rules (or was removed): drain and forget.
        let gone: Vec<String> = self
            .rings
            .keys()
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for ns in gone {
            if let Some(mut old) = self.rings.remove(&ns) {
                drain(&ns, &mut old, out);
            }
        }
    }

    /// Hand every waiting line to `out`, rescanning first when [`RESCAN`] has passed; waits up
    /// to `wait` for a first line when none is waiting. Returns the number of lines.
    pub fn poll(&mut self, wait: Duration, out: &mut dyn FnMut(LogLine)) -> usize {
        let deadline = Instant::now() + wait;
        loop {
            if self.scanned.is_none_or(|t| t.elapsed() >= RESCAN) {
                self.rescan(out);
            }
            let mut n = 0;
            for (ns, r) in self.rings.iter_mut() {
                n += drain(ns, r, &mut |l| out(l));
            }
            let now = Instant::now();
            if n > 0 || now >= deadline {
                return n;
            }
            let slice = (deadline - now).min(Duration::from_millis(50));
            match self.rings.values().next() {
                // One ring: block on it (epoll); several: a short sleep between looks.
                Some(r) if self.rings.len() == 1 => {
                    let _ = r.ring.wait(i32::try_from(slice.as_millis()).unwrap_or(50));
                }
                _ => std::thread::sleep(slice),
            }
        }
    }
}

fn drain(ns: &str, r: &mut Ring, out: &mut dyn FnMut(LogLine)) -> usize {
    let rules = &r.rules;
    let mut n = 0;
    r.ring.drain(|sample| {
        if let Some(l) = rules.line(ns, sample) {
            out(l);
            n += 1;
        }
    });
    n
}

/// The LOG rules of the saved filter table of one namespace.
fn saved_rules(state: &Path) -> LogRules {
    let Ok(tables) = NsTables::load_state(state) else {
        return LogRules::default();
    };
    let rules = tables
        .tables()
        .find(|(t, _)| t.name.as_str() == "filter")
        .map(|(t, _)| LogRules::of(t))
        .unwrap_or_default();
    rules
}

/// Where LOG lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSink {
    /// Standard output, one line each (`bpfilter log`).
    Stdout,
    /// Standard output with the rule's level as a syslog prefix (`<4>...`): journald files
    /// each line at the rule's `--log-level` (the daemon under systemd).
    Syslog,
    /// The kernel log (`/dev/kmsg`) at the rule's level, where the kernel's own LOG lines go.
    Kmsg,
    /// Nowhere (the rings are still drained).
    Off,
}

impl LineSink {
    /// From an option value: `stdout`, `syslog`, `kmsg`, `none`.
    pub fn parse(s: &str) -> Option<LineSink> {
        match s {
            "stdout" => Some(LineSink::Stdout),
            "syslog" => Some(LineSink::Syslog),
            "kmsg" => Some(LineSink::Kmsg),
            "none" => Some(LineSink::Off),
            _ => None,
        }
    }
}

/// An open [`LineSink`].
pub struct LineWriter {
    sink: LineSink,
    kmsg: Option<std::fs::File>,
}

impl LineWriter {
    /// Open `sink` (`/dev/kmsg` for [`LineSink::Kmsg`]).
    pub fn open(sink: LineSink) -> std::io::Result<LineWriter> {
        let kmsg = match sink {
            LineSink::Kmsg => Some(std::fs::OpenOptions::new().write(true).open("/dev/kmsg")?),
            _ => None,
        };
        Ok(LineWriter { sink, kmsg })
    }

    /// Write one line; errors (a closed stdout, kmsg's rate limit) drop the line.
    pub fn write(&mut self, l: &LogLine) {
        use std::io::Write;
        let level = l.level.min(7);
        match (self.sink, self.kmsg.as_mut()) {
            (LineSink::Stdout, _) => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{}", l.text);
                let _ = o.flush();
            }
            (LineSink::Syslog, _) => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "<{level}>{}", l.text);
                let _ = o.flush();
            }
            // One write per record; the kernel takes `<N>` as the priority.
            (LineSink::Kmsg, Some(f)) => {
                let _ = f.write_all(format!("<{level}>{}\n", l.text).as_bytes());
            }
            _ => {}
        }
    }
}
