//! The service against the kernel itself: the same raw IPT_SO_* calls (odd lengths, faulting
//! pointers, high register bits, other socket families, bad fds), made by callers with various
//! credentials, once directly and once under interception with [`PassThrough`]. Every line of
//! output — result, `*optlen`, digest of the returned bytes — must be the same.
#![allow(clippy::unwrap_used)]

mod intercept_util;

use bpfilter_umh::intercept::{CallResult, Errno, PassThrough};
use intercept_util::{direct, have, intercepted, python, Netns};

const EDGES: &str = include_str!("intercept_edges.py");

/// Run the edge-case script behind `prefix` (a credential changer) both ways; return the
/// output and the number of trapped calls.
fn both_ways(prefix: &[&str]) -> (String, u64, Vec<CallResult>) {
    let ns = Netns::new();
    let mut cmd: Vec<&str> = prefix.to_vec();
    cmd.extend([python(), "-c", EDGES]);
    let kernel = direct(&ns, &cmd);
    let (ours, run) = intercepted(&ns, &cmd, PassThrough::new());
    assert!(kernel.status.success(), "{kernel:?}");
    assert!(ours.status.success(), "{ours:?}");
    let (k, o): (Vec<&str>, Vec<&str>) = (
        kernel.stdout.lines().collect(),
        ours.stdout.lines().collect(),
    );
    for (kl, ol) in k.iter().zip(&o) {
        assert_eq!(
            ol,
            kl,
            "call {:?} differs (kernel first)",
            kl.split(' ').next()
        );
    }
    assert_eq!(k.len(), o.len());
    let results = run.stats.calls.iter().map(|r| r.result).collect();
    (kernel.stdout, run.stats.trapped, results)
}

#[test]
fn root_caller() {
    require_root!();
    let (out, trapped, results) = both_ways(&[]);
    assert!(out.contains("info ok 84"), "{out}");
    assert!(out.contains("info-high-bits ok 84"), "{out}");
    assert!(out.contains("entries ok"), "{out}");
    // Every call that reaches x_tables is trapped, including the one with junk in the high
    // halves of level/optname; non-x_tables sockets are trapped and handed back.
    assert!(trapped >= 30, "{trapped}");
    assert!(results.contains(&CallResult::Continued));
    assert!(results.contains(&CallResult::Failed(Errno::EFAULT)));
}

#[test]
fn root_without_net_admin() {
    require_root!();
    if !have("setpriv") {
        return;
    }
    let (out, _, results) = both_ways(&[
        "setpriv",
        "--inh-caps=-net_admin",
        "--bounding-set=-net_admin",
    ]);
    assert!(out.contains("info EPERM"), "{out}");
    // EINVAL for a negative length and EFAULT for an unreadable *optlen come before EPERM.
    assert!(out.contains("info-neg EINVAL"), "{out}");
    assert!(out.contains("info-optlen-fault EFAULT"), "{out}");
    assert!(out.contains("info-optval-fault EPERM"), "{out}");
    assert!(results.contains(&CallResult::Failed(Errno::EPERM)));
}

#[test]
fn nobody() {
    require_root!();
    if !have("setpriv") {
        return;
    }
    let (out, _, _) = both_ways(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ]);
    assert!(out.contains("info EPERM"), "{out}");
}

#[test]
fn root_of_a_child_user_namespace_over_the_parent_s_netns() {
    require_root!();
    // Full CapEff in its own user namespace, but the netns belongs to the parent one: the
    // kernel says EPERM, and so must the service (a CapEff check alone would say yes).
    let (out, _, results) = both_ways(&["unshare", "-U", "-r", "--"]);
    assert!(out.contains("info EPERM"), "{out}");
    assert!(results.contains(&CallResult::Failed(Errno::EPERM)));
}

#[test]
fn root_of_a_child_user_namespace_with_its_own_netns() {
    require_root!();
    let (out, _, _) = both_ways(&["unshare", "-U", "-r", "-n", "--"]);
    assert!(out.contains("info ok 84"), "{out}");
}
