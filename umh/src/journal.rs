//! Structured log lines on stderr, as journald reads them: each line starts with the syslog
//! priority in angle brackets (`<3>` err, `<4>` warning, `<6>` info, `<7>` debug; journald
//! strips it and files the line at that priority), followed by `key=value` pairs:
//!
//! ```text
//! <6>level=info msg="replaced table" ns=4099 pid=5120 table=filter entries=6
//! <3>level=err msg="call failed" ns=4099 pid=5121 op=SetReplace errno=ENOENT reason="..."
//! ```
//!
//! Values are written bare when they are made of safe characters only, and otherwise quoted
//! with `\"`, `\\`, `\n`, `\t` and `\xNN` escapes, so one event is always one line (a verifier
//! log spans many lines; here it becomes one `reason="..."` value).

use std::fmt::{self, Display, Write as _};
use std::io::Write as _;

/// A log line's severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed (a call, a client, the daemon).
    Err,
    /// Refused or suspicious, but the daemon carries on (a non-root peer).
    Warning,
    /// What changed (a table replaced, a client served).
    Info,
    /// Every call.
    Debug,
}

impl Level {
    /// The syslog priority number.
    pub fn priority(self) -> u8 {
        match self {
            Level::Err => 3,
            Level::Warning => 4,
            Level::Info => 6,
            Level::Debug => 7,
        }
    }

    /// The `level=` value.
    pub fn name(self) -> &'static str {
        match self {
            Level::Err => "err",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// Whether a line of this level is printed at `verbosity` (0 `-q`: errors and warnings;
    /// 1, the default: and info; 2 `-v`: and debug).
    pub fn enabled(self, verbosity: u8) -> bool {
        match self {
            Level::Err | Level::Warning => true,
            Level::Info => verbosity >= 1,
            Level::Debug => verbosity >= 2,
        }
    }
}

fn bare(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/@+-,".contains(c))
}

/// Append `v` as a log value (bare or quoted, see the module docs).
fn push_value(out: &mut String, v: &str) {
    if bare(v) {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One log line (with its trailing newline).
pub fn line(level: Level, msg: &str, fields: &[(&str, &dyn Display)]) -> String {
    let mut out = format!("<{}>level={} msg=", level.priority(), level.name());
    push_value(&mut out, msg);
    for (k, v) in fields {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        push_value(&mut out, &v.to_string());
    }
    out.push('\n');
    out
}

/// Print one line to stderr if `level` is enabled at `verbosity`. The line goes out in one
/// write, so lines of concurrent threads do not interleave.
pub fn log(level: Level, verbosity: u8, msg: &str, fields: &[(&str, &dyn Display)]) {
    if level.enabled(verbosity) {
        let l = line(level, msg, fields);
        let _ = std::io::stderr().lock().write_all(l.as_bytes());
    }
}

/// A value printed with `Debug` (an enum like the socket option).
pub struct Dbg<T: fmt::Debug>(pub T);

impl<T: fmt::Debug> Display for Dbg<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_priority_and_escape_what_would_break_them() {
        let l = line(
            Level::Err,
            "call failed",
            &[
                ("ns", &4099u64),
                ("table", &"filter"),
                ("reason", &"verifier:\n0: (b7) r0 = \"x\"\\"),
                ("empty", &""),
            ],
        );
        assert_eq!(
            l,
            "<3>level=err msg=\"call failed\" ns=4099 table=filter \
             reason=\"verifier:\\n0: (b7) r0 = \\\"x\\\"\\\\\" empty=\"\"\n"
        );
        assert_eq!(line(Level::Warning, "x", &[]), "<4>level=warning msg=x\n");
        assert_eq!(line(Level::Info, "x", &[]).get(..3), Some("<6>"));
        assert_eq!(
            line(Level::Debug, "a\u{1}b", &[]),
            "<7>level=debug msg=\"a\\x01b\"\n"
        );
    }

    #[test]
    fn quiet_keeps_errors_and_warnings_and_verbose_adds_debug() {
        assert!(Level::Err.enabled(0) && Level::Warning.enabled(0));
        assert!(!Level::Info.enabled(0) && Level::Info.enabled(1));
        assert!(!Level::Debug.enabled(1) && Level::Debug.enabled(2));
    }
}
