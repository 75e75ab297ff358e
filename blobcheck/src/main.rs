//! blobcheck: validate captured `IPT_SO_SET_REPLACE` blobs offline, exactly as the kernel would,
//! and capture live tables as such blobs. See `blobcheck --help`.

mod json;
mod report;

use bpfilter_core::validate::{validate_replace, FreshNamespace};
use std::io::{self, Write};
use std::process::ExitCode;

const HELP: &str = "\
blobcheck: check iptables SET_REPLACE blobs offline, exactly as the kernel would

USAGE
    blobcheck [--json] [--dump] [--current-entries N|blob] FILE...
    blobcheck capture --table TABLE -o FILE
    blobcheck --help

WHAT A BLOB IS
    iptables-legacy never sends single rules to the kernel. It rewrites a whole table with one
    setsockopt(SOL_IP, IPT_SO_SET_REPLACE) call, whose argument is:

        [ struct ipt_replace, 96 bytes ][ entries, `size` bytes ]
          name, valid_hooks,              one struct ipt_entry (112 bytes) per rule,
          num_entries, size,              then its matches, then its target; policies,
          hook_entry[5], underflow[5],    user-chain heads (ERROR targets) and RETURNs
          num_counters, counters          are entries too

    A blob file holds exactly those bytes. blobcheck runs the kernel's own checks
    (translate_table: structure, hook offsets, loops and jumps, every match and target) on it
    and says whether the kernel of a fresh network namespace would accept it. If not, it says
    which check failed, the errno the kernel would return, the entry and byte offset, the
    extension involved, and shows the bytes there.

GETTING A BLOB
    capture reads a live table of the network namespace blobcheck runs in and writes it in
    SET_REPLACE form: the blob that would replace the table with itself (comefrom and counters
    zeroed, num_counters = the table's entry count). Use a throwaway namespace, so the host's
    firewall is neither read nor touched:

        unshare -n sh -c 'iptables-legacy-restore < rules.txt &&
                          blobcheck capture --table filter -o filter.bin'

    scripts/gen-fixtures.sh does this for every tests/fixtures/*.rules.

OPTIONS
    --json                  one JSON object per file per line: file, ok, errno (0 when
                            accepted), errno_name, check, offset (in the entries), file_offset,
                            entry, ext, message
    --dump                  print accepted blobs in iptables-save syntax
    --current-entries N     assume the table now has N entries. The kernel answers EAGAIN when
                            num_counters differs from the current entry count; by default the
                            tables are those of a fresh namespace (filter 4 entries, nat 5,
                            mangle 6, raw 3, security 4)
    --current-entries blob  assume the table has num_counters entries, whatever that is: right
                            for captured blobs, which carry their own entry count
    -h, --help              this text

    Offsets: `offset` counts from the start of the entries (the kernel's hook_entry and jump
    offsets); the file offset is 96 bytes more.

EXIT STATUS
    0 every file accepted, 1 at least one rejected, 2 usage or I/O error

EXAMPLES
    blobcheck --current-entries blob tests/fixtures/*.bin
    blobcheck --json broken.bin | jq -r 'select(.ok == false) | .check'
    unshare -n sh -c 'iptables-legacy -P INPUT DROP &&
                      blobcheck capture --table filter -o drop.bin'
    blobcheck drop.bin
";

/// The EAGAIN check's idea of the current entry count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Current {
    /// A fresh namespace's tables.
    Fresh,
    /// N entries, every table.
    Fixed(u32),
    /// Whatever the blob's num_counters says.
    Blob,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Check {
        json: bool,
        dump: bool,
        current: Current,
        files: Vec<String>,
    },
    Capture {
        table: String,
        out: String,
    },
}

/// Split `--opt=value` and `--opt value` alike; returns the value.
fn value(
    arg: &str,
    name: &str,
    rest: &mut impl Iterator<Item = String>,
) -> Result<Option<String>, String> {
    if arg == name {
        return rest
            .next()
            .map(Some)
            .ok_or_else(|| format!("{name} needs a value"));
    }
    Ok(arg
        .strip_prefix(name)
        .and_then(|v| v.strip_prefix('='))
        .map(str::to_owned))
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    if args.peek().map(String::as_str) == Some("capture") {
        args.next();
        let (mut table, mut out) = (None, None);
        while let Some(a) = args.next() {
            if a == "-h" || a == "--help" {
                return Ok(Command::Help);
            } else if let Some(v) = value(&a, "--table", &mut args)? {
                table = Some(v);
            } else if let Some(v) = value(&a, "-o", &mut args)? {
                out = Some(v);
            } else if let Some(v) = value(&a, "--output", &mut args)? {
                out = Some(v);
            } else {
                return Err(format!("capture: unexpected argument {a:?}"));
            }
        }
        return Ok(Command::Capture {
            table: table.ok_or("capture needs --table TABLE")?,
            out: out.ok_or("capture needs -o FILE (- for standard output)")?,
        });
    }
    let (mut json, mut dump, mut current) = (false, false, Current::Fresh);
    let mut files = Vec::new();
    let mut only_files = false;
    while let Some(a) = args.next() {
        if only_files || a == "-" || !a.starts_with('-') {
            files.push(a);
        } else if a == "--" {
            only_files = true;
        } else if a == "-h" || a == "--help" {
            return Ok(Command::Help);
        } else if a == "--json" {
            json = true;
        } else if a == "--dump" {
            dump = true;
        } else if let Some(v) = value(&a, "--current-entries", &mut args)? {
            current = if v == "blob" {
                Current::Blob
            } else {
                Current::Fixed(v.parse().map_err(|_| {
                    format!("--current-entries: {v:?} is neither a count nor \"blob\"")
                })?)
            };
        } else {
            return Err(format!("unknown option {a:?}"));
        }
    }
    if files.is_empty() {
        return Err("no FILE given".into());
    }
    Ok(Command::Check {
        json,
        dump,
        current,
        files,
    })
}

/// Process exit codes.
const ACCEPTED: u8 = 0;
const REJECTED: u8 = 1;
const TROUBLE: u8 = 2;

fn read(file: &str) -> io::Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        io::Read::read_to_end(&mut io::stdin(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
    }
}

fn check(json: bool, dump: bool, current: Current, files: &[String]) -> u8 {
    let mut status = ACCEPTED;
    let mut stdout = io::stdout().lock();
    for file in files {
        let bytes = match read(file) {
            Ok(b) => b,
            Err(e) => {
                if json {
                    let _ = writeln!(stdout, "{}", report::json_io_error(file, &e.to_string()));
                } else {
                    eprintln!("blobcheck: {file}: {e}");
                }
                status = TROUBLE;
                continue;
            }
        };
        let state = FreshNamespace {
            current_entries: match current {
                Current::Fresh => None,
                Current::Fixed(n) => Some(n),
                Current::Blob => bpfilter_umh::capture::num_counters(&bytes),
            },
        };
        let line = match validate_replace(&bytes, &state) {
            Ok(validated) if dump => match bpfilter_core::ir::Table::from_validated(&validated) {
                // The same text iptables-legacy-save prints for the table, minus its
                // "# Generated/Completed" comment lines (they carry a date).
                Ok(table) => {
                    let mut text = String::new();
                    table.save(&mut text);
                    text
                }
                Err(e) => {
                    status = TROUBLE;
                    eprintln!("blobcheck: {file}: accepted, but cannot be shown as iptables-save text: {e:?}");
                    String::new()
                }
            },
            Ok(_) => {
                if json {
                    report::json_verdict(file, Ok(())) + "\n"
                } else {
                    report::text_ok(file)
                }
            }
            Err(err) => {
                status = status.max(REJECTED);
                if json {
                    report::json_verdict(file, Err(&err)) + "\n"
                } else {
                    report::text_rejected(file, &bytes, &err)
                }
            }
        };
        if stdout.write_all(line.as_bytes()).is_err() {
            return TROUBLE;
        }
    }
    status
}

fn capture(table: &str, out: &str) -> u8 {
    let blob = match bpfilter_umh::capture::capture(table) {
        Ok(b) => b,
        Err(e) => {
            let why = match e.raw_os_error() {
                Some(libc::EPERM) => " (needs CAP_NET_RAW and CAP_NET_ADMIN)",
                Some(libc::ENOENT) => " (no such table)",
                _ => "",
            };
            eprintln!("blobcheck: capture {table}: {e}{why}");
            return TROUBLE;
        }
    };
    let written = if out == "-" {
        io::stdout().lock().write_all(&blob)
    } else {
        std::fs::write(out, &blob)
    };
    match written {
        Ok(()) => ACCEPTED,
        Err(e) => {
            eprintln!("blobcheck: {out}: {e}");
            TROUBLE
        }
    }
}

fn main() -> ExitCode {
    let cmd = match parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("blobcheck: {msg}\nTry 'blobcheck --help'.");
            return ExitCode::from(TROUBLE);
        }
    };
    ExitCode::from(match cmd {
        Command::Help => {
            print!("{HELP}");
            ACCEPTED
        }
        Command::Check {
            json,
            dump,
            current,
            files,
        } => check(json, dump, current, &files),
        Command::Capture { table, out } => capture(&table, &out),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_check_options() {
        assert_eq!(
            p(&["--json", "a", "--current-entries", "7", "b", "--", "--dump"]).unwrap(),
            Command::Check {
                json: true,
                dump: false,
                current: Current::Fixed(7),
                files: vec!["a".into(), "b".into(), "--dump".into()],
            }
        );
        assert_eq!(
            p(&["--current-entries=blob", "-"]).unwrap(),
            Command::Check {
                json: false,
                dump: false,
                current: Current::Blob,
                files: vec!["-".into()],
            }
        );
        assert_eq!(p(&["x", "--help"]).unwrap(), Command::Help);
    }

    #[test]
    fn parses_capture() {
        assert_eq!(
            p(&["capture", "--table", "nat", "-o", "n.bin"]).unwrap(),
            Command::Capture {
                table: "nat".into(),
                out: "n.bin".into()
            }
        );
        assert_eq!(
            p(&["capture", "--table=raw", "--output=-"]).unwrap(),
            Command::Capture {
                table: "raw".into(),
                out: "-".into()
            }
        );
    }

    #[test]
    fn usage_errors() {
        assert!(p(&[]).is_err());
        assert!(p(&["--json"]).is_err());
        assert!(p(&["--bogus", "f"]).is_err());
        assert!(p(&["--current-entries"]).is_err());
        assert!(p(&["--current-entries", "many", "f"]).is_err());
        assert!(p(&["capture", "--table", "filter"]).is_err());
        assert!(p(&["capture", "-o", "x"]).is_err());
        assert!(p(&["capture", "--table", "filter", "-o", "x", "extra"]).is_err());
    }
}
