//! blobcheck end to end: exit codes, text and JSON output on the committed fixtures, and a
//! capture in a throwaway network namespace (needs root; fails loudly without it).

use bpfilter_umh::sys::netns::command_in_new_netns;
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_blobcheck"))
}

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    p.to_string_lossy().into_owned()
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run blobcheck");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("blobcheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}

#[test]
fn fresh_filter_blob_is_ok() {
    let f = fixture("filter-empty.bin");
    let (code, out, _) = run(bin().arg(&f));
    assert_eq!((code, out), (0, format!("{f}: OK\n")));
}

#[test]
fn captured_blob_needs_its_entry_count() {
    // A user-chain fixture has more entries than a fresh filter table: EAGAIN by default.
    let f = fixture("filter-addresses-interfaces.bin");
    let (code, out, _) = run(bin().arg(&f));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("REJECTED with EAGAIN (errno 11)"), "{out}");
    assert!(
        out.contains("header field num_counters (file offset 84)"),
        "{out}"
    );
    let (code, out, _) = run(bin().args(["--current-entries", "blob", &f]));
    assert_eq!((code, out), (0, format!("{f}: OK\n")));
    // Its num_entries: the count the live table had when it was captured.
    let bytes = std::fs::read(&f).expect("fixture");
    let n = u32::from_le_bytes(bytes[36..40].try_into().expect("4 bytes"));
    assert!(n > 4);
    let (code, _, _) = run(bin().arg(format!("--current-entries={n}")).arg(&f));
    assert_eq!(code, 0);
    let (code, out, _) = run(bin().arg(format!("--current-entries={}", n - 1)).arg(&f));
    assert_eq!(code, 1, "{out}");
}

#[test]
fn rejection_in_words_and_json() {
    let mut bytes = std::fs::read(fixture("filter-policies-drop.bin")).expect("fixture");
    // Entry 1 (FORWARD's policy, at 152) gets verdict 0, which is never allowed.
    bytes[96 + 152 + 112 + 32..96 + 152 + 112 + 36].copy_from_slice(&0i32.to_le_bytes());
    let bad = temp("bad-verdict.bin", &bytes);
    let ok = fixture("filter-empty.bin");
    let (code, out, _) = run(bin().arg(&ok).arg(&bad));
    assert_eq!(code, 1);
    assert!(out.starts_with(&format!("{ok}: OK\n")), "{out}");
    assert!(out.contains("REJECTED with EINVAL (errno 22)"), "{out}");
    assert!(out.contains("(BadVerdict)"), "{out}");
    assert!(
        out.contains("entry 1, offset 152 in the entries blob (file offset 248)"),
        "{out}"
    );
    assert!(out.contains("verdict at file offset 392"), "{out}");
    assert!(
        out.contains("    00000180 "),
        "hex dump row with the verdict: {out}"
    );

    let (code, out, _) = run(bin().arg("--json").arg(&ok).arg(&bad));
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains(r#""ok":true,"errno":0,"errno_name":"""#),
        "{out}"
    );
    assert!(
        lines[1].contains(
            r#""ok":false,"errno":22,"errno_name":"EINVAL","check":"BadVerdict","offset":152,"file_offset":248,"entry":1"#
        ),
        "{out}"
    );
    std::fs::remove_file(&bad).expect("remove temp file");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let (code, _, err) = run(&mut bin());
    assert_eq!(code, 2);
    assert!(err.contains("--help"));
    assert_eq!(run(bin().arg("--frobnicate")).0, 2);
    let (code, _, err) = run(bin()
        .arg(fixture("filter-empty.bin"))
        .arg("/nonexistent/x.bin"));
    assert_eq!(code, 2, "an unreadable file outranks a verdict");
    assert!(err.contains("/nonexistent/x.bin"));
    let (code, out, _) = run(bin().args(["--json", "/nonexistent/x.bin"]));
    assert_eq!(code, 2);
    assert!(out.contains(r#""io_error":true"#), "{out}");
    let (code, out, _) = run(bin().arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("WHAT A BLOB IS") && out.contains("capture --table"));
}

#[test]
fn capture_in_a_throwaway_namespace() {
    bpfilter_umh::oracle::probe().unwrap_or_else(|e| panic!("{e}"));
    let out = temp("captured.bin", b"");
    // A fresh namespace's filter table is exactly the committed empty-filter fixture.
    let (code, _, err) = run(command_in_new_netns(&mut bin()).args([
        "capture",
        "--table",
        "filter",
        "-o",
        &out.to_string_lossy(),
    ]));
    assert_eq!(code, 0, "{err}");
    let want = std::fs::read(fixture("filter-empty.bin")).expect("fixture");
    assert_eq!(std::fs::read(&out).expect("captured"), want);
    std::fs::remove_file(&out).expect("remove temp file");
    let (code, _, err) =
        run(command_in_new_netns(&mut bin()).args(["capture", "--table", "nosuch", "-o", "-"]));
    assert_eq!(code, 2);
    assert!(err.contains("no such table"), "{err}");
}
