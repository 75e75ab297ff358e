//! Unmodified `iptables-legacy` served by bpfilter's own tables (umh::service) through
//! interception, in a throwaway network namespace; the kernel's x_tables there stay empty.
#![allow(clippy::unwrap_used)]

mod intercept_util;

use bpfilter_core::error::Errno;
use bpfilter_core::ext::Kind;
use bpfilter_core::ir::{Counters, Table};
use bpfilter_umh::service::handler::Service;
use bpfilter_umh::service::{ApplyError, Enforcer, NsTables};
use intercept_util::{direct, intercepted, Netns};
use std::sync::{Arc, Mutex};

/// Enforces nothing; remembers what it was asked to apply.
struct Book(Arc<Mutex<Vec<String>>>);

impl Enforcer for Book {
    fn supports(&self, _: Kind, _: &[u8], _: u8) -> bool {
        true
    }
    fn apply(
        &mut self,
        table: &Table,
        _: &[u8],
        commit: &mut dyn FnMut() -> Result<(), ApplyError>,
    ) -> Result<(), ApplyError> {
        commit()?;
        if table.entries.len() > 7 {
            return Err(ApplyError {
                errno: Errno::ENOENT,
                message: "too many for this test".into(),
            });
        }
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", table.name, table.entries.len()));
        Ok(())
    }
    fn counters(&self, _: &str) -> Vec<Counters> {
        Vec::new()
    }
}

#[test]
fn iptables_legacy_against_bpfilter_tables() {
    require_root!();
    let ns = Netns::new();
    let applied = Arc::new(Mutex::new(Vec::new()));
    let a = applied.clone();
    let mut svc = Service::new(Box::new(move |_, _| {
        Ok((
            NsTables::new(),
            Box::new(Book(a.clone())) as Box<dyn Enforcer>,
        ))
    }));
    svc.verbosity = 0;

    let (out, _) = intercepted(&ns, &["iptables-legacy", "-L", "-n"], &mut svc);
    assert!(out.status.success(), "{out:?}");
    for chain in [
        "Chain INPUT (policy ACCEPT)",
        "Chain FORWARD (policy ACCEPT)",
        "Chain OUTPUT (policy ACCEPT)",
    ] {
        assert!(out.stdout.contains(chain), "{}", out.stdout);
    }
    let add = [
        "iptables-legacy",
        "-A",
        "INPUT",
        "-p",
        "udp",
        "--dport",
        "23",
        "-j",
        "DROP",
    ];
    let (out, _) = intercepted(&ns, &add, &mut svc);
    assert!(out.status.success(), "{out:?}");
    let (out, _) = intercepted(&ns, &["iptables-legacy", "-S"], &mut svc);
    assert!(
        out.stdout
            .contains("-A INPUT -p udp -m udp --dport 23 -j DROP"),
        "{}",
        out.stdout
    );
    assert_eq!(applied.lock().unwrap().as_slice(), ["filter 5"]);

    // A refused apply keeps the old table and reports the errno iptables shows.
    let (out, _) = intercepted(&ns, &["iptables-legacy", "-N", "a"], &mut svc);
    assert!(out.status.success(), "{out:?}");
    let (out, _) = intercepted(
        &ns,
        &["iptables-legacy", "-A", "a", "-j", "ACCEPT"],
        &mut svc,
    );
    assert!(!out.status.success(), "{out:?}");
    let (out, _) = intercepted(&ns, &["iptables-legacy-save", "-t", "filter"], &mut svc);
    assert!(
        out.stdout.contains(":a - [0:0]") && !out.stdout.contains("-A a -j ACCEPT"),
        "{}",
        out.stdout
    );

    // The kernel's own x_tables in that namespace never saw a rule.
    let k = direct(&ns, &["iptables-legacy", "-S"]);
    assert!(!k.stdout.contains("--dport 23"), "{}", k.stdout);
}
