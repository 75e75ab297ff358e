//! bpfilter-verify: the running kernel as the oracle.
//!
//! `validate`: the same SET_REPLACE bytes go to the kernel (`setsockopt` in a throwaway network
//! namespace, table reset to its fresh state between cases) and to `core::validate`; the two
//! errnos must be equal. Inputs: every spec case, every fixture, then N structure-aware random
//! rulesets with targeted mutations. Disagreements are saved (blob + both outcomes) and the run
//! exits non-zero.

use bpfilter_core::error::Errno;
use bpfilter_core::ext::Kind;
use bpfilter_core::ir::Table;
use bpfilter_core::sockopt::{self, Tables};
use bpfilter_core::testgen::gen::{random_case, Rng};
use bpfilter_core::testgen::spec;
use bpfilter_core::uapi::{
    table_by_name, TableInfo, IPT_SO_GET_ENTRIES, IPT_SO_GET_INFO, IPT_SO_GET_REVISION_MATCH,
    IPT_SO_GET_REVISION_TARGET, IPT_SO_SET_ADD_COUNTERS,
};
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use bpfilter_umh::oracle::KernelOracle;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod verdicts;

const USAGE: &str = "\
bpfilter-verify: check bpfilter against the running kernel (needs root; works only inside
network namespaces it creates itself)

USAGE:
  bpfilter-verify validate [--cases N] [--seed S] [--out DIR] [--fixtures DIR]
  bpfilter-verify conformance [--dir DIR] [--bpfilter BIN] [--only NAME]

  validate   hand the same IPT_SO_SET_REPLACE bytes to the kernel and to core::validate and
             compare the errno. Runs every spec case, every *.bin fixture, then N random
             structure-aware rulesets (most mutated at the offsets, sizes, jumps, hooks, counts,
             names and revisions the kernel checks). Each disagreement is written to
             DIR/disagree-SEED-INDEX.bin with a .txt beside it; exit status 1 if any.

  conformance  run iptables' own extension tests (*.t in DIR, default
             ../shared/conformance/iptables-t) through the kernel, each case in a fresh network
             namespace, and with --bpfilter BIN also through `BIN exec`; prints per file the
             cases, how many the kernel passed as the file expects (the files are iptables
             1.8.11's), how many bpfilter agreed with the kernel on, and how many it refused.

OPTIONS (validate):
  --cases N       random cases (default 20000)
  --seed S        seed (default: from the clock, printed so a run can be repeated)
  --out DIR       where disagreements go (default verify-out)
  --fixtures DIR  blob fixtures to include (default tests/fixtures)
";

struct Args {
    cases: u64,
    seed: u64,
    out: PathBuf,
    fixtures: PathBuf,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        cases: 20_000,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        out: PathBuf::from("verify-out"),
        fixtures: PathBuf::from("tests/fixtures"),
    };
    while let Some(x) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match x.as_str() {
            "--cases" => {
                a.cases = val("--cases")?
                    .parse()
                    .map_err(|e| format!("--cases: {e}"))?
            }
            "--seed" => a.seed = val("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => a.out = val("--out")?.into(),
            "--fixtures" => a.fixtures = val("--fixtures")?.into(),
            _ => return Err(format!("unknown argument {x:?}")),
        }
    }
    Ok(a)
}

fn core_errno(optval: &[u8], current: Option<u32>) -> (i32, String) {
    match validate_replace(
        optval,
        &FreshNamespace {
            current_entries: current,
        },
    ) {
        Ok(_) => (0, "accepted".into()),
        Err(e) => (e.errno().code(), format!("{e}")),
    }
}

fn name(errno: i32) -> String {
    if errno == 0 {
        "OK".into()
    } else {
        Errno::from_code(errno).map_or_else(|| format!("errno {errno}"), |e| e.name().into())
    }
}

struct Run {
    oracle: KernelOracle,
    out: PathBuf,
    seed: u64,
    total: u64,
    disagreements: u64,
    readbacks: u64,
    outcomes: BTreeMap<String, u64>,
}

impl Run {
    fn case(&mut self, idx: &str, optval: &[u8], how: &str) -> Result<(), String> {
        // After an accepted blob, read the installed table back before the oracle resets it.
        let name_field = optval.get(..31).unwrap_or(&[]).to_vec();
        let (kernel, seen) = self
            .oracle
            .replace_inspect(optval, |sock| {
                let t = table_by_name(&name_field)?;
                let info = sock.get_info(t.name).ok()?;
                let entries = sock.get_entries(t.name, info.size.get()).ok()?;
                Some((info, entries))
            })
            .map_err(|e| format!("kernel oracle: {e}"))?;
        let (ours, why) = core_errno(optval, None);
        self.total += 1;
        *self.outcomes.entry(name(kernel)).or_default() += 1;
        if kernel != ours {
            self.disagreements += 1;
            self.save(
                idx,
                optval,
                how,
                &format!("kernel: {}\nbpfilter: {} ({why})", name(kernel), name(ours)),
            )?;
            return Ok(());
        }
        // Both accepted: GET_INFO and GET_ENTRIES from the kernel equal what core::ir emits
        // for the same table (counters aside: none have been counted).
        if let (0, Some(Some((info, entries)))) = (kernel, seen) {
            self.readbacks += 1;
            let v =
                validate_replace(optval, &FreshNamespace::default()).map_err(|e| e.to_string())?;
            let t = Table::from_validated(&v).map_err(|e| format!("{e:?}"))?;
            let zeros = vec![(0, 0); v.offsets.len()];
            let ours_entries = t.to_get_entries(&v.hook_mask, &zeros);
            if t.get_info() != info || ours_entries != entries {
                self.disagreements += 1;
                let what = if t.get_info() != info {
                    "GET_INFO"
                } else {
                    "GET_ENTRIES"
                };
                self.save(
                    idx,
                    optval,
                    how,
                    &format!("accepted by both, but {what} differs from core::ir"),
                )?;
            }
        }
        Ok(())
    }

    /// Save a disagreement: the blob as found, and a minimized blob that still disagrees.
    fn save(&mut self, idx: &str, optval: &[u8], how: &str, outcome: &str) -> Result<(), String> {
        std::fs::create_dir_all(&self.out).map_err(|e| e.to_string())?;
        let base = self.out.join(format!("disagree-{}-{idx}", self.seed));
        std::fs::write(base.with_extension("bin"), optval).map_err(|e| e.to_string())?;
        let min = minimize::minimize(optval, &mut |b| {
            let k = self.oracle.replace_errno(b).unwrap_or(-1);
            k != core_errno(b, None).0
        });
        let min_path = base.with_extension("min.bin");
        std::fs::write(&min_path, &min).map_err(|e| e.to_string())?;
        let txt = format!(
            "case {idx}: {how}\n{outcome}\nreproduce: blobcheck {}\nminimized ({} -> {} bytes, still disagreeing on the errno): {}\n",
            base.with_extension("bin").display(),
            optval.len(),
            min.len(),
            min_path.display()
        );
        std::fs::write(base.with_extension("txt"), &txt).map_err(|e| e.to_string())?;
        eprint!("DISAGREE {txt}");
        Ok(())
    }
}

fn fixtures(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "bin") {
                if let Ok(b) = std::fs::read(&p) {
                    v.push((p.display().to_string(), b));
                }
            }
        }
    }
    v
}

/// The kernel's fresh tables, as `core::sockopt` needs them.
struct Fresh;
impl Tables for Fresh {
    fn lookup(&self, name: &[u8]) -> Option<(TableInfo, u32, u32)> {
        let t = table_by_name(name)?;
        // n-1 policies of 152 bytes and the final ERROR entry of 176.
        Some((*t, t.initial_entries, (t.initial_entries - 1) * 152 + 176))
    }
}

fn errno_of(r: Result<impl Sized, bpfilter_core::error::Error>) -> i32 {
    r.map_or_else(|e| e.errno().code(), |_| 0)
}

/// One random call of another socket option, to the kernel and to core::sockopt.
fn other_option(rng: &mut Rng, oracle: &KernelOracle) -> (String, i32, i32) {
    let sock = oracle.socket();
    const NAMES: [&[u8]; 5] = [
        b"filter",
        b"nat",
        b"raw",
        b"nosuch",
        b"filterXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    ];
    let tname = NAMES[rng.below(NAMES.len())];
    let mut name = [0u8; 32];
    for (d, s) in name.iter_mut().zip(tname.iter()) {
        *d = *s;
    }
    match rng.below(4) {
        0 => {
            let optlen = *rng.pick(&[84usize, 83, 85, 40, 100]);
            let mut buf = vec![0u8; optlen];
            buf[..32.min(optlen)].copy_from_slice(&name[..32.min(optlen)]);
            let k = sock.get_raw(IPT_SO_GET_INFO, &mut buf).err().unwrap_or(0);
            let c = errno_of(sockopt::get_info(&buf, optlen, &Fresh));
            (
                format!(
                    "GET_INFO {} optlen {optlen}",
                    String::from_utf8_lossy(tname)
                ),
                k,
                c,
            )
        }
        1 => {
            let size = *rng.pick(&[632u32, 784, 480, 0, 631, 640]);
            let optlen = if rng.chance(3, 4) {
                40 + size as usize
            } else {
                *rng.pick(&[39usize, 40, 700])
            };
            let mut buf = vec![0u8; optlen.max(40)];
            buf[..32].copy_from_slice(&name);
            buf[32..36].copy_from_slice(&size.to_le_bytes());
            buf.truncate(optlen);
            let mut kb = buf.clone();
            let k = sock.get_raw(IPT_SO_GET_ENTRIES, &mut kb).err().unwrap_or(0);
            let c = errno_of(sockopt::get_entries(&buf, optlen, &Fresh));
            (
                format!(
                    "GET_ENTRIES {} size {size} optlen {optlen}",
                    String::from_utf8_lossy(tname)
                ),
                k,
                c,
            )
        }
        2 => {
            let n = *rng.pick(&[4u32, 5, 3, 0, 1]);
            let len = if rng.chance(3, 4) {
                40 + 16 * n as usize
            } else {
                *rng.pick(&[40usize, 39, 41, 72])
            };
            let mut buf = vec![0u8; len.max(40)];
            buf[..32].copy_from_slice(&name);
            buf[32..36].copy_from_slice(&n.to_le_bytes());
            buf.truncate(len);
            let k = sock
                .set_raw(IPT_SO_SET_ADD_COUNTERS, &buf)
                .err()
                .unwrap_or(0);
            let c = errno_of(sockopt::add_counters(&buf, &Fresh));
            (
                format!(
                    "ADD_COUNTERS {} n {n} len {len}",
                    String::from_utf8_lossy(tname)
                ),
                k,
                c,
            )
        }
        _ => {
            let kind = if rng.chance(1, 2) {
                Kind::Match
            } else {
                Kind::Target
            };
            let reg = bpfilter_core::ext::registry(kind);
            let ename = if reg.is_empty() || rng.chance(1, 5) {
                "nosuch"
            } else {
                reg[rng.below(reg.len())].name
            };
            let rev = if rng.chance(1, 2) {
                0
            } else {
                rng.below(5) as u8
            };
            let optlen = if rng.chance(9, 10) {
                30
            } else {
                *rng.pick(&[29usize, 31])
            };
            let mut buf = vec![0u8; optlen];
            for (d, s) in buf.iter_mut().zip(ename.bytes()) {
                *d = s;
            }
            if optlen >= 30 {
                buf[29] = rev;
            }
            let opt = if kind == Kind::Match {
                IPT_SO_GET_REVISION_MATCH
            } else {
                IPT_SO_GET_REVISION_TARGET
            };
            let k = sock.get_raw(opt, &mut buf).err().unwrap_or(0);
            let c = errno_of(sockopt::get_revision(&buf, optlen, kind));
            (
                format!("GET_REVISION_{kind:?} {ename:?} rev {rev} optlen {optlen}"),
                k,
                c,
            )
        }
    }
}

fn validate(a: Args) -> Result<bool, String> {
    let started = Instant::now();
    let oracle =
        KernelOracle::new().map_err(|e| format!("cannot make a network namespace: {e}"))?;
    let mut run = Run {
        oracle,
        out: a.out,
        seed: a.seed,
        total: 0,
        disagreements: 0,
        readbacks: 0,
        outcomes: BTreeMap::new(),
    };
    for c in spec::cases() {
        run.case(&format!("spec-{}", c.id), &c.optval, c.what)?;
    }
    let spec_n = run.total;
    for (path, blob) in fixtures(&a.fixtures) {
        let stem = Path::new(&path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        run.case(&format!("fixture-{stem}"), &blob, &path)?;
    }
    let fix_n = run.total - spec_n;
    let mut rng = Rng::new(a.seed);
    for i in 0..a.cases {
        let c = random_case(&mut rng);
        run.case(&i.to_string(), &c.optval, &c.how)?;
    }
    // The other socket options: a tenth as many calls.
    let mut other_n = 0u64;
    for i in 0..a.cases / 10 + 1 {
        let (what, kernel, ours) = other_option(&mut rng, &run.oracle);
        other_n += 1;
        run.total += 1;
        *run.outcomes.entry(name(kernel)).or_default() += 1;
        if kernel != ours {
            run.disagreements += 1;
            eprintln!(
                "DISAGREE option case {i}: {what}: kernel {} bpfilter {}",
                name(kernel),
                name(ours)
            );
        }
    }
    println!(
        "bpfilter-verify validate --seed {} --cases {}",
        a.seed, a.cases
    );
    println!(
        "cases:          {} ({} spec, {} fixtures, {} random replace, {} other options)",
        run.total, spec_n, fix_n, a.cases, other_n
    );
    println!("disagreements:  {}", run.disagreements);
    println!(
        "read back:      {} accepted tables: kernel GET_INFO/GET_ENTRIES equal to core::ir's",
        run.readbacks
    );
    let outcomes: Vec<String> = run
        .outcomes
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("kernel outcomes: {}", outcomes.join(", "));
    println!("time:           {:.1}s", started.elapsed().as_secs_f64());
    Ok(run.disagreements == 0)
}

mod conformance;
mod minimize;

fn conformance_cmd(mut it: impl Iterator<Item = String>) -> Result<bool, String> {
    let mut dir = PathBuf::from("../shared/conformance/iptables-t");
    let mut bin: Option<PathBuf> = None;
    let mut only: Option<String> = None;
    while let Some(x) = it.next() {
        let mut val = |n: &str| it.next().ok_or(format!("{n} needs a value"));
        match x.as_str() {
            "--dir" => dir = val("--dir")?.into(),
            "--bpfilter" => bin = Some(val("--bpfilter")?.into()),
            "--only" => only = Some(val("--only")?),
            _ => return Err(format!("unknown argument {x:?}")),
        }
    }
    let started = Instant::now();
    let (tallies, problems) = conformance::run_all(&dir, bin.as_deref(), only.as_deref())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    println!(
        "{:<22} {:>6} {:>16} {:>8} {:>8}",
        "file", "cases", "kernel=.t file", "agree", "refused"
    );
    let mut total = conformance::Tally::default();
    for (f, t) in &tallies {
        let agree = if bin.is_some() {
            t.agree.to_string()
        } else {
            "-".into()
        };
        println!(
            "{:<22} {:>6} {:>16} {:>8} {:>8}",
            f, t.cases, t.kernel_as_expected, agree, t.refused
        );
        total.cases += t.cases;
        total.kernel_as_expected += t.kernel_as_expected;
        total.agree += t.agree;
        total.refused += t.refused;
    }
    let agree = if bin.is_some() {
        total.agree.to_string()
    } else {
        "-".into()
    };
    println!(
        "{:<22} {:>6} {:>16} {:>8} {:>8}",
        "TOTAL", total.cases, total.kernel_as_expected, agree, total.refused
    );
    println!("time: {:.1}s", started.elapsed().as_secs_f64());
    for p in &problems {
        println!("  {p}");
    }
    Ok(problems.len() as u64 == total.refused)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let cmd = args.next();
    let res = match cmd.as_deref() {
        Some("validate") => parse(args).and_then(validate),
        Some("conformance") => conformance_cmd(args),
        Some("verdicts") => verdicts::main(args),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}\n{}", verdicts::USAGE);
            return ExitCode::SUCCESS;
        }
        _ => Err(format!("expected a command\n\n{USAGE}")),
    };
    match res {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bpfilter-verify: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod props {
    use super::*;
    use proptest::prelude::*;
    use std::cell::RefCell;

    thread_local! {
        static ORACLE: RefCell<Option<KernelOracle>> = const { RefCell::new(None) };
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// The differential property itself, driven by proptest (shrinking on the seed): a
        /// random structure-aware case gets the same errno from the kernel and the validator.
        #[test]
        fn kernel_and_validator_agree(seed in any::<u64>()) {
            let c = random_case(&mut bpfilter_core::testgen::gen::Rng::new(seed));
            let kernel = ORACLE.with(|o| {
                let mut o = o.borrow_mut();
                let oracle = o.get_or_insert_with(|| KernelOracle::new().expect("needs root"));
                oracle.replace_errno(&c.optval).unwrap()
            });
            let (ours, why) = core_errno(&c.optval, None);
            prop_assert_eq!(kernel, ours, "{}: bpfilter says {}", c.how, why);
        }
    }
}
