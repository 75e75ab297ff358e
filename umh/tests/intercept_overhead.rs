//! What a trapped call costs. Ignored by default (timing, not correctness):
//! `cargo test --release -p bpfilter-umh --test intercept_overhead -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]

mod intercept_util;

use std::time::{Duration, Instant};

use bpfilter_umh::intercept::{KernelContinue, PassThrough, SockoptHandler, Stats};
use intercept_util::{direct, intercepted, python, Netns};

const N: u32 = 5000;
const LOOP: &str = r#"
import ctypes, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
buf = ctypes.create_string_buffer(b"filter", 84)
ln = ctypes.c_uint32(84)
get, fd, p, pl = libc.getsockopt, s.fileno(), ctypes.byref(buf), ctypes.byref(ln)
t = time.perf_counter()
for _ in range(n):
    if get(fd, 0, 64, p, pl) != 0:
        sys.exit("GET_INFO failed: %d" % ctypes.get_errno())
print((time.perf_counter() - t) / n * 1e6)
"#;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn service_side(stats: &Stats) -> Duration {
    median(stats.calls.iter().map(|c| c.elapsed).collect())
}

fn python_loop<H: SockoptHandler>(ns: &Netns, h: Option<H>) -> (f64, Option<Duration>) {
    let n = N.to_string();
    let args = [python(), "-c", LOOP, n.as_str()];
    match h {
        None => (direct(ns, &args).stdout.trim().parse().unwrap(), None),
        Some(h) => {
            let (out, run) = intercepted(ns, &args, h);
            (
                out.stdout.trim().parse().unwrap(),
                Some(service_side(&run.stats)),
            )
        }
    }
}

fn iptables_loop<H: SockoptHandler>(ns: &Netns, runs: u32, h: Option<H>) -> Duration {
    let script =
        format!("for i in $(seq {runs}); do iptables-legacy -L -n >/dev/null || exit 1; done");
    let args = ["sh", "-c", script.as_str()];
    let t = Instant::now();
    match h {
        None => assert!(direct(ns, &args).status.success()),
        Some(h) => assert!(intercepted(ns, &args, h).0.status.success()),
    }
    t.elapsed()
}

#[test]
#[ignore = "timing; run explicitly"]
fn overhead() {
    require_root!();
    let ns = Netns::new();
    let (plain, _) = python_loop::<PassThrough>(&ns, None);
    let (cont, cont_srv) = python_loop(&ns, Some(KernelContinue));
    let (pass, pass_srv) = python_loop(&ns, Some(PassThrough::new()));
    println!("GET_INFO from python, {N} calls, per call:");
    println!("  direct                {plain:8.2} us");
    println!(
        "  trapped, CONTINUE     {cont:8.2} us  (service side median {:?})",
        cont_srv.unwrap()
    );
    println!(
        "  trapped, PassThrough  {pass:8.2} us  (service side median {:?})",
        pass_srv.unwrap()
    );
    println!(
        "  => trap + CONTINUE +{:.2} us, full service +{:.2} us",
        cont - plain,
        pass - plain
    );

    let runs = 300;
    let d = iptables_loop::<PassThrough>(&ns, runs, None);
    let p = iptables_loop(&ns, runs, Some(PassThrough::new()));
    let per_call = (p.as_secs_f64() - d.as_secs_f64()) / f64::from(runs * 2) * 1e6;
    println!(
        "iptables-legacy -L -n x{runs}: direct {:?}, intercepted {:?} => {per_call:.1} us per trapped call",
        d, p
    );
}
