//! `bpfilter-verify conformance`: iptables' own extension tests (`*.t`, an external corpus,
//! format in shared/conformance/README.md) run through the kernel and through bpfilter, each
//! case in a fresh network namespace, and the outcomes compared.
//!
//! A case's outcome is what a user sees: whether `iptables-legacy -t T -A CHAIN RULE` succeeded,
//! and the `-A CHAIN ...` line `iptables-legacy-save` prints afterwards. The kernel's outcome is
//! the reference; bpfilter agrees when its outcome is the same. Where bpfilter cannot enforce an
//! extension, the add must fail (a clean refusal), never succeed and be silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The expected result column of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The add succeeds and the save output contains the expected line.
    Ok,
    /// The add fails.
    Fail,
    /// The add succeeds but the save output differs.
    NoMatch,
}

/// One case for one chain.
#[derive(Clone, Debug)]
pub struct Case {
    /// `file:line`.
    pub origin: String,
    /// The file's stem, e.g. `libxt_tcp`.
    pub file: String,
    /// Table.
    pub table: String,
    /// Chain.
    pub chain: String,
    /// The rule arguments.
    pub rule: String,
    /// The expected save text (`RULE` itself for `=`).
    pub expected: String,
    /// The expected result.
    pub expect: Expect,
}

/// Parse one `.t` file into cases (one per chain), skipping `NFT` variants and `@`/`%` lines.
pub fn parse(path: &Path) -> std::io::Result<Vec<Case>> {
    let text = std::fs::read_to_string(path)?;
    let file = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut chains: Vec<String> = Vec::new();
    let mut table = String::from("filter");
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with('@')
            || line.starts_with('%')
        {
            continue;
        }
        if let Some(c) = line.strip_prefix(':') {
            chains = c.split(',').map(str::to_owned).collect();
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_owned();
            continue;
        }
        let parts: Vec<&str> = line.split(';').collect();
        if parts.len() < 3 {
            continue;
        }
        if parts.get(3).is_some_and(|v| *v == "NFT") {
            continue;
        }
        let expect = match parts[2] {
            "OK" => Expect::Ok,
            "FAIL" => Expect::Fail,
            "NOMATCH" => Expect::NoMatch,
            _ => continue,
        };
        let rule = parts[0].to_owned();
        let expected = if parts[1] == "=" {
            rule.clone()
        } else {
            parts[1].to_owned()
        };
        for c in &chains {
            out.push(Case {
                origin: format!("{}:{}", path.display(), n + 1),
                file: file.clone(),
                table: table.clone(),
                chain: c.clone(),
                rule: rule.clone(),
                expected: expected.clone(),
                expect,
            });
        }
    }
    Ok(out)
}

/// What a user saw for one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The add succeeded.
    pub added: bool,
    /// The `-A CHAIN ...` lines of that chain in the save output (without `-A CHAIN `).
    pub saved: Vec<String>,
    /// iptables' error message, if the add failed.
    pub message: String,
}

fn script(c: &Case) -> String {
    // The rule text is shell syntax in the .t files (quotes around comments etc.).
    format!(
        "iptables-legacy -t {t} -A {ch} {r} 2>/tmp/.bpfilter-conf-err.$$ && echo __ADDED__; \
         cat /tmp/.bpfilter-conf-err.$$ | sed 's/^/__ERR__ /'; rm -f /tmp/.bpfilter-conf-err.$$; \
         iptables-legacy-save -t {t}",
        t = c.table,
        ch = c.chain,
        r = c.rule
    )
}

fn observe(output: &str, chain: &str) -> Observed {
    let prefix = format!("-A {chain} ");
    Observed {
        added: output.lines().any(|l| l == "__ADDED__"),
        saved: output
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(str::to_owned)
            .collect(),
        message: output
            .lines()
            .filter_map(|l| l.strip_prefix("__ERR__ "))
            .collect::<Vec<_>>()
            .join(" / "),
    }
}

/// Where a case runs.
pub enum Runner {
    /// The kernel's own x_tables, in a fresh network namespace (`unshare -n`).
    Kernel,
    /// Through bpfilter: `unshare -n BPFILTER exec -- sh -c ...`.
    Bpfilter(PathBuf),
}

impl Runner {
    /// Run one case.
    pub fn run(&self, c: &Case) -> std::io::Result<Observed> {
        let s = script(c);
        let out = match self {
            Runner::Kernel => Command::new("unshare")
                .args(["-n", "sh", "-c", &s])
                .output()?,
            Runner::Bpfilter(bin) => {
                // Each case's namespace dies with `unshare`: keep its state and pins apart
                // and remove them afterwards.
                let tag = format!("bpfconf{}", std::process::id());
                let state = std::env::temp_dir().join(&tag);
                let pins = PathBuf::from("/sys/fs/bpf").join(&tag);
                let out = Command::new("unshare")
                    .arg("-n")
                    .arg(bin)
                    .args(["exec", "-q", "--state-dir"])
                    .arg(&state)
                    .arg("--pin-dir")
                    .arg(&pins)
                    .args(["--", "sh", "-c", &s])
                    .output();
                let _ = std::fs::remove_dir_all(&state);
                let _ = std::fs::remove_dir_all(&pins);
                out?
            }
        };
        Ok(observe(&String::from_utf8_lossy(&out.stdout), &c.chain))
    }
}

/// Per-file tallies.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Cases run.
    pub cases: u64,
    /// The kernel's outcome matched the file's expectation.
    pub kernel_as_expected: u64,
    /// bpfilter's outcome equalled the kernel's.
    pub agree: u64,
    /// bpfilter refused a rule the kernel accepted (clean failure, counted apart).
    pub refused: u64,
}

/// The kernel's outcome against the .t file's expectation (informational: the files are from
/// iptables 1.8.11 and this machine runs 1.8.9).
pub fn as_expected(c: &Case, o: &Observed) -> bool {
    match c.expect {
        Expect::Fail => !o.added,
        Expect::Ok => o.added && o.saved.contains(&c.expected),
        Expect::NoMatch => o.added && !o.saved.contains(&c.expected),
    }
}

/// Run every case of every `.t` file in `dir`; with `bpfilter`, compare against it. Returns
/// per-file tallies and the disagreements as text.
pub fn run_all(
    dir: &Path,
    bpfilter: Option<&Path>,
    filter: Option<&str>,
) -> std::io::Result<(BTreeMap<String, Tally>, Vec<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "t"))
        .collect();
    files.sort();
    let mut tallies = BTreeMap::new();
    let mut problems = Vec::new();
    let bpf = bpfilter.map(|b| Runner::Bpfilter(b.to_path_buf()));
    for f in files {
        for c in parse(&f)? {
            if filter.is_some_and(|x| !c.file.contains(x)) {
                continue;
            }
            let k = Runner::Kernel.run(&c)?;
            let t: &mut Tally = tallies.entry(c.file.clone()).or_default();
            t.cases += 1;
            t.kernel_as_expected += u64::from(as_expected(&c, &k));
            if let Some(b) = &bpf {
                let o = b.run(&c)?;
                if o.added == k.added && o.saved == k.saved {
                    t.agree += 1;
                } else if k.added && !o.added {
                    t.refused += 1;
                    problems.push(format!(
                        "{} [{} {}] {}: kernel accepted, bpfilter refused: {}",
                        c.origin, c.table, c.chain, c.rule, o.message
                    ));
                } else {
                    problems.push(format!(
                        "{} [{} {}] {}: kernel {:?} / bpfilter {:?}",
                        c.origin, c.table, c.chain, c.rule, k, o
                    ));
                }
            }
        }
    }
    Ok((tallies, problems))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_format() {
        let dir = std::env::temp_dir().join(format!("conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("libxt_x.t");
        std::fs::write(
            &p,
            ":INPUT,OUTPUT\n# c\n-p tcp;=;OK\n-x;;FAIL\n-y;-z;OK;NFT\n*mangle\n:POSTROUTING\n-m a;-m b;NOMATCH;LEGACY\n",
        )
        .unwrap();
        let cases = parse(&p).unwrap();
        assert_eq!(cases.len(), 5);
        assert_eq!(cases[0].chain, "INPUT");
        assert_eq!(cases[0].expected, "-p tcp");
        assert_eq!(cases[2].expect, Expect::Fail);
        assert_eq!(cases[4].table, "mangle");
        assert_eq!(cases[4].expect, Expect::NoMatch);
        let o = observe(
            "__ADDED__\n*filter\n-A INPUT -p tcp\n-A OUTPUT -x\n",
            "INPUT",
        );
        assert!(o.added);
        assert_eq!(o.saved, vec!["-p tcp".to_owned()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
