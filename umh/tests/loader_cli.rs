//! `bpfilter compile` and `bpfilter test-run`, run as the binary (root: they load programs).

use bpfilter_umh::cli::compile::tables_from_save;
use std::path::PathBuf;
use std::process::{Command, Output};

const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.0/8 -p udp --dport 53 -j DROP
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
";

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfilter-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn bpfilter(args: &[&str]) -> (i32, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_bpfilter"))
        .args(args)
        .output()
        .expect("run bpfilter");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.code().unwrap_or(-1), text)
}

#[test]
fn compile_a_save_file_and_a_blob() {
    let rules = temp("rules.save", RULES.as_bytes());
    let (code, out) = bpfilter(&["compile", rules.to_str().expect("path"), "--disasm"]);
    assert_eq!(code, 0, "{out}");
    for hook in ["INPUT", "FORWARD", "OUTPUT"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("filter {hook}: ")))
            .unwrap_or_else(|| panic!("no line for {hook}:\n{out}"));
        assert!(line.contains("verifier accepted"), "{line}");
        assert!(
            line.contains("processed insns") && line.contains("JIT"),
            "{line}"
        );
    }
    assert!(
        out.contains("; entry 0") && out.contains("call kfunc#"),
        "{out}"
    );

    // The same table as a SET_REPLACE blob.
    let blob = tables_from_save(RULES.as_bytes())
        .expect("restore")
        .remove(0)
        .blob;
    let file = temp("rules.blob", &blob);
    let (code, out) = bpfilter(&["compile", file.to_str().expect("path")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("verifier accepted"))
            .count(),
        3,
        "{out}"
    );
}

#[test]
fn compile_refuses_an_unsupported_target_by_name() {
    let text = RULES.replace("-j ACCEPT", "-j REJECT");
    let rules = temp("reject.save", text.as_bytes());
    let (code, out) = bpfilter(&["compile", rules.to_str().expect("path")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("target \"REJECT\" is not supported"), "{out}");
}

#[test]
fn test_run_reports_verdict_and_deciding_entry() {
    let rules = temp("run.save", RULES.as_bytes());
    // UDP 10.1.2.3:12345 -> 10.0.0.2:53, 4 payload bytes.
    let pkt = "45000020123440004011000a0a0102030a000002 30390035000c0000 70696e67";
    let (code, out) = bpfilter(&[
        "test-run",
        rules.to_str().expect("path"),
        "--hook",
        "INPUT",
        "--packet",
        pkt,
        "--in",
        "eth0",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("filter INPUT: verdict DROP"), "{out}");
    assert!(
        out.contains("entry 0: +1 packet(s), +32 bytes, DROP"),
        "{out}"
    );
    assert!(out.contains("deciding entry: 0"), "{out}");
    assert!(out.contains("--in eth0 ignored"), "{out}");
    // FORWARD: no rules, policy DROP (entry 3).
    let (code, out) = bpfilter(&[
        "test-run",
        rules.to_str().expect("path"),
        "--hook",
        "FORWARD",
        "--packet",
        pkt,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("verdict DROP") && out.contains("deciding entry: 3"),
        "{out}"
    );
    let (code, out) = bpfilter(&["test-run", "--help"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NULL device pointers"), "{out}");
}
