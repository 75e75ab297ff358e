//! Unmodified `iptables-legacy` under interception, against the running kernel, each test in a
//! network namespace of its own (never the host's).
#![allow(clippy::unwrap_used)]

mod intercept_util;

use std::ffi::OsString;
use std::time::Duration;

use bpfilter_core::uapi::{
    IPT_SO_GET_ENTRIES, IPT_SO_GET_INFO, IPT_SO_GET_REVISION_MATCH, IPT_SO_SET_ADD_COUNTERS,
    IPT_SO_SET_REPLACE,
};
use bpfilter_umh::intercept::{
    exec, CallRecord, CallResult, Errno, Exec, KernelContinue, PassThrough, Request, SetReply,
    SockoptHandler,
};
use intercept_util::{direct, intercepted, Netns};

const RULE: [&str; 10] = [
    "-A", "INPUT", "-p", "udp", "--dport", "23", "-j", "DROP", "-w", "5",
];
const RULE_SAVED: &str = "-A INPUT -p udp -m udp --dport 23 -j DROP";

fn ipt(args: &[&str]) -> Vec<&'static str> {
    let mut v = vec!["iptables-legacy"];
    for a in args {
        v.push(Box::leak(a.to_string().into_boxed_str()));
    }
    v
}

/// (is_set, optname) of every trapped call.
fn calls(records: &[CallRecord]) -> Vec<(bool, i32)> {
    records.iter().map(|r| (r.is_set, r.optname)).collect()
}

#[test]
fn passthrough_is_transparent() {
    require_root!();
    let ns = Netns::new();

    // An empty table listed: the table, then its entries.
    let (empty, empty_run) = intercepted(&ns, &ipt(&["-L", "-n"]), PassThrough::new());
    assert!(empty.status.success(), "{empty:?}");
    assert_eq!(empty.stdout, direct(&ns, &ipt(&["-L", "-n"])).stdout);
    assert_eq!(
        calls(&empty_run.stats.calls),
        vec![(false, IPT_SO_GET_INFO), (false, IPT_SO_GET_ENTRIES)]
    );

    let (add, add_run) = intercepted(&ns, &ipt(&RULE), PassThrough::new());
    assert!(add.status.success(), "{add:?}");

    let (list, list_run) = intercepted(&ns, &ipt(&["-S"]), PassThrough::new());
    assert!(list.status.success(), "{list:?}");
    assert!(list.stdout.contains(RULE_SAVED), "{}", list.stdout);

    // The rule really went into the kernel of that namespace, seen without interception.
    let seen = direct(&ns, &["iptables-legacy", "-S"]);
    assert_eq!(seen.stdout, list.stdout);

    // Every trapped call was answered with success by the kernel through the pass-through.
    for r in add_run.stats.calls.iter().chain(&list_run.stats.calls) {
        assert_eq!(r.result, CallResult::Returned(0), "{r:?}");
    }
    // What iptables-legacy 1.8.9 asks for `-A ... -p udp --dport 23 -j DROP`: the `udp` match
    // revision (while parsing the command line), the table, its entries, the replace, and the
    // counters of the old rules. Observed on this machine: iptables' own sequence.
    assert_eq!(
        calls(&add_run.stats.calls),
        vec![
            (false, IPT_SO_GET_REVISION_MATCH),
            (false, IPT_SO_GET_INFO),
            (false, IPT_SO_GET_ENTRIES),
            (true, IPT_SO_SET_REPLACE),
            (true, IPT_SO_SET_ADD_COUNTERS),
        ]
    );
    assert_eq!(add_run.stats.trapped, 5);
    // Printing the rule loads the `udp` extension, which asks for its revision again.
    assert_eq!(
        calls(&list_run.stats.calls),
        vec![
            (false, IPT_SO_GET_INFO),
            (false, IPT_SO_GET_ENTRIES),
            (false, IPT_SO_GET_REVISION_MATCH)
        ]
    );
}

#[test]
fn old_counters_flow_back_through_the_replace_side_write() {
    require_root!();
    let ns = Netns::new();
    // A rule with preset counters, then another rule: iptables reads the old counters that
    // SET_REPLACE writes through its `counters` pointer and adds them back with
    // SET_ADD_COUNTERS. Had the side write been lost, the first rule would come back as 0/0.
    let mut first = ipt(&RULE);
    first.extend(["-c", "5", "100"]);
    let (a, _) = intercepted(&ns, &first, PassThrough::new());
    assert!(a.status.success(), "{a:?}");
    let (b, _) = intercepted(
        &ns,
        &ipt(&["-A", "INPUT", "-p", "tcp", "-j", "ACCEPT"]),
        PassThrough::new(),
    );
    assert!(b.status.success(), "{b:?}");
    let list = ["iptables-legacy", "-L", "INPUT", "-v", "-x", "-n"];
    let (l, _) = intercepted(&ns, &list, PassThrough::new());
    let first_rule = l
        .stdout
        .lines()
        .find(|line| line.contains("dpt:23"))
        .unwrap_or_else(|| panic!("{}", l.stdout));
    let fields: Vec<&str> = first_rule.split_whitespace().collect();
    assert_eq!(&fields[..2], ["5", "100"], "{}", l.stdout);
    assert_eq!(direct(&ns, &list).stdout, l.stdout);
}

/// Answers every call ENOENT, as if no table existed.
struct NoTables;
impl SockoptHandler for NoTables {
    fn set(&mut self, _: &Request, _: i32, _: &[u8]) -> Result<SetReply, Errno> {
        Err(Errno::ENOENT)
    }
    fn get(&mut self, _: &Request, _: i32, _: &[u8], _: u32) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOENT)
    }
}

#[test]
fn enoent_handler_makes_iptables_report_a_missing_table() {
    require_root!();
    let ns = Netns::new();
    let (out, run) = intercepted(&ns, &ipt(&["-L", "-n"]), NoTables);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("Table does not exist"), "{out:?}");
    // libiptc tries GET_INFO, attempts to load the module, and tries once more.
    assert_eq!(
        calls(&run.stats.calls),
        vec![(false, IPT_SO_GET_INFO), (false, IPT_SO_GET_INFO)]
    );
    assert!(run
        .stats
        .calls
        .iter()
        .all(|r| r.result == CallResult::Failed(Errno::ENOENT)));
}

#[test]
fn kernel_continue_mode_lets_the_kernel_answer() {
    require_root!();
    let ns = Netns::new();
    let (add, run) = intercepted(&ns, &ipt(&RULE), KernelContinue);
    assert!(add.status.success(), "{add:?}");
    assert_eq!(run.stats.trapped, 5);
    assert!(run
        .stats
        .calls
        .iter()
        .all(|r| r.result == CallResult::Continued));
    assert!(direct(&ns, &["iptables-legacy", "-S"])
        .stdout
        .contains(RULE_SAVED));
}

#[test]
fn the_filter_is_inherited_by_descendants_and_exec_waits_for_them() {
    require_root!();
    let ns = Netns::new();
    // The shell exits at once; its background child lists the table later. exec() must keep
    // serving until that grandchild is gone too, and report the shell's status.
    let script =
        "(sleep 0.3; iptables-legacy -A INPUT -j ACCEPT -w 5 && iptables-legacy-save) & exit 7";
    let (out, run) = intercepted(&ns, &["sh", "-c", script], PassThrough::new());
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(out.stdout.contains("-A INPUT -j ACCEPT"), "{out:?}");
    // -A without a match: GET_INFO, GET_ENTRIES, SET_REPLACE, SET_ADD_COUNTERS; then save:
    // GET_INFO, GET_ENTRIES for `filter`.
    assert_eq!(
        calls(&run.stats.calls),
        vec![
            (false, IPT_SO_GET_INFO),
            (false, IPT_SO_GET_ENTRIES),
            (true, IPT_SO_SET_REPLACE),
            (true, IPT_SO_SET_ADD_COUNTERS),
            (false, IPT_SO_GET_INFO),
            (false, IPT_SO_GET_ENTRIES),
        ]
    );
}

#[test]
fn exec_returns_the_exit_status() {
    require_root!();
    let sh = |s: &str| vec![OsString::from("sh"), "-c".into(), s.into()];
    assert_eq!(
        exec(&sh("exit 0"), PassThrough::new()).unwrap().code(),
        Some(0)
    );
    assert_eq!(
        exec(&sh("exit 7"), PassThrough::new()).unwrap().code(),
        Some(7)
    );
    assert_eq!(
        exec(&[], PassThrough::new()).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert_eq!(
        exec(
            &[OsString::from("/nonexistent/bpfilter-test")],
            PassThrough::new()
        )
        .unwrap_err()
        .kind(),
        std::io::ErrorKind::NotFound
    );
}

#[test]
fn timeout_kills_the_command_and_its_group() {
    require_root!();
    let start = std::time::Instant::now();
    let err = Exec::new(&[
        OsString::from("sh"),
        "-c".into(),
        "sleep 20 & sleep 20".into(),
    ])
    .unwrap()
    .new_netns()
    .timeout(Duration::from_millis(300))
    .run(PassThrough::new())
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_caller_without_net_admin_gets_eperm_like_from_the_kernel() {
    require_root!();
    if !intercept_util::have("setpriv") {
        eprintln!("skipped: needs setpriv");
        return;
    }
    let ns = Netns::new();
    // Still uid 0 with CAP_NET_RAW (so iptables can open its raw socket), no CAP_NET_ADMIN.
    let cmd = [
        "setpriv",
        "--inh-caps=-net_admin",
        "--bounding-set=-net_admin",
        "iptables-legacy",
        "-L",
        "-n",
    ];
    let (out, run) = intercepted(&ns, &cmd, PassThrough::new());
    let kernel = direct(&ns, &cmd);
    assert!(!out.status.success());
    assert_eq!(out.status.code(), kernel.status.code());
    assert_eq!(out.stderr, kernel.stderr);
    assert_eq!(
        calls(&run.stats.calls),
        vec![(false, IPT_SO_GET_INFO), (false, IPT_SO_GET_INFO)]
    );
    assert!(run
        .stats
        .calls
        .iter()
        .all(|r| r.result == CallResult::Failed(Errno::EPERM)));
}

#[test]
fn handlers_see_the_socket_s_netns_and_the_caller() {
    require_root!();
    #[derive(Default)]
    struct Spy(Vec<(u64, i32, u32, bool, u32)>);
    impl SockoptHandler for Spy {
        fn set(&mut self, _: &Request, _: i32, _: &[u8]) -> Result<SetReply, Errno> {
            Err(Errno::EINVAL)
        }
        fn get(&mut self, r: &Request, _: i32, _: &[u8], len: u32) -> Result<Vec<u8>, Errno> {
            self.0.push((
                r.netns_id.ino,
                r.family,
                r.caller.euid,
                r.caller.net_admin,
                len,
            ));
            Err(Errno::ENOENT)
        }
    }
    use std::os::unix::fs::MetadataExt;
    let home = Netns::new();
    let away = Netns::new();
    let ino = |n: &Netns| std::fs::metadata(n.path()).unwrap().ino();
    // The socket is made in `home` (where the command runs), then the thread moves to `away`:
    // the kernel uses the socket's namespace, and so must the service.
    let script = format!(
        "import socket, ctypes, os\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         libc = ctypes.CDLL(None, use_errno=True)\n\
         fd = os.open('{}', os.O_RDONLY)\n\
         assert libc.setns(fd, 0x40000000) == 0\n\
         try:\n    s.getsockopt(0, 64, 84)\nexcept OSError as e:\n    print(e.errno)\n",
        away.path()
    );
    let mut spy = Spy::default();
    let (out, _) = intercepted(&home, &[intercept_util::python(), "-c", &script], &mut spy);
    assert_eq!(out.stdout.trim(), libc::ENOENT.to_string(), "{out:?}");
    assert_eq!(spy.0, vec![(ino(&home), libc::AF_INET, 0, true, 84)]);
}
