//! bpfilter-verify: the running kernel as the oracle.
//!
//! `validate`: the same SET_REPLACE bytes go to the kernel (`setsockopt` in a throwaway network
//! namespace, table reset to its fresh state between cases) and to `core::validate`; the two
//! errnos must be equal. Inputs: every spec case, every fixture, then N structure-aware random
//! rulesets with targeted mutations. Disagreements are saved (blob + both outcomes) and the run
//! exits non-zero.

use bpfilter_core::error::Errno;
use bpfilter_core::testgen::gen::{random_case, Rng};
use bpfilter_core::testgen::spec;
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use bpfilter_umh::oracle::KernelOracle;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
bpfilter-verify: check bpfilter against the running kernel (needs root; works only inside
network namespaces it creates itself)

USAGE:
  bpfilter-verify validate [--cases N] [--seed S] [--out DIR] [--fixtures DIR]

  validate   hand the same IPT_SO_SET_REPLACE bytes to the kernel and to core::validate and
             compare the errno. Runs every spec case, every *.bin fixture, then N random
             structure-aware rulesets (most mutated at the offsets, sizes, jumps, hooks, counts,
             names and revisions the kernel checks). Each disagreement is written to
             DIR/disagree-SEED-INDEX.bin with a .txt beside it; exit status 1 if any.

OPTIONS:
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
    outcomes: BTreeMap<String, u64>,
}

impl Run {
    fn case(&mut self, idx: &str, optval: &[u8], how: &str) -> Result<(), String> {
        let kernel = self
            .oracle
            .replace_errno(optval)
            .map_err(|e| format!("kernel oracle: {e}"))?;
        let (ours, why) = core_errno(optval, None);
        self.total += 1;
        *self.outcomes.entry(name(kernel)).or_default() += 1;
        if kernel != ours {
            self.disagreements += 1;
            std::fs::create_dir_all(&self.out).map_err(|e| e.to_string())?;
            let base = self.out.join(format!("disagree-{}-{idx}", self.seed));
            std::fs::write(base.with_extension("bin"), optval).map_err(|e| e.to_string())?;
            let txt = format!(
                "case {idx}: {how}\nkernel: {}\nbpfilter: {} ({why})\nreproduce: blobcheck {}\n",
                name(kernel),
                name(ours),
                base.with_extension("bin").display()
            );
            std::fs::write(base.with_extension("txt"), &txt).map_err(|e| e.to_string())?;
            eprint!("DISAGREE {txt}");
        }
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
    println!(
        "bpfilter-verify validate --seed {} --cases {}",
        a.seed, a.cases
    );
    println!(
        "cases:          {} ({} spec, {} fixtures, {} random)",
        run.total, spec_n, fix_n, a.cases
    );
    println!("disagreements:  {}", run.disagreements);
    let outcomes: Vec<String> = run
        .outcomes
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("kernel outcomes: {}", outcomes.join(", "));
    println!("time:           {:.1}s", started.elapsed().as_secs_f64());
    Ok(run.disagreements == 0)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let cmd = args.next();
    let res = match cmd.as_deref() {
        Some("validate") => parse(args).and_then(validate),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
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
