//! The `chargeback replay` and `report` commands (README, *Command line*), run as the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_chargeback");
const V1_KEY: &str = "5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6";

fn root() -> String {
    env!("CARGO_MANIFEST_DIR").to_string()
}

fn samples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(format!("{}/samples", root()))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".jsonl"))
        .collect();
    v.sort();
    v
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .env_remove("CHARGEBACK_DEPLOYMENT_MODELS")
        .env_remove("CHARGEBACK_PRICE_SHEET")
        .env_remove("CHARGEBACK_RECORD_NON_BILLABLE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chargeback");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_readme_command_prints_a_per_consumer_summary_of_the_samples() {
    let mut args = vec!["replay", "--summary"];
    let files = samples();
    args.extend(files.iter().map(String::as_str));
    let out = run(&args, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for consumer in [
        "Finance analytics",
        "Customer support bot",
        "Search indexer",
        "key-sha256:",
        "TOTAL",
    ] {
        assert!(s.contains(consumer), "missing {consumer} in\n{s}");
    }
    assert!(
        s.contains("12 events: 11 billable records, 1 skipped"),
        "{s}"
    );
    assert!(!s.contains(V1_KEY) && !text(&out.stderr).contains(V1_KEY));
}

#[test]
fn replay_writes_one_record_per_billable_event_in_input_order() {
    let chat = format!("{}/samples/chat-completion.jsonl", root());
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let throttled = format!("{}/samples/throttled-429.jsonl", root());
    let out = run(&["replay", &emb, &throttled, &chat], None);
    assert!(out.status.success());
    let ids: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["requestId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            "4fab7096-9b5c-4d9e-9e95-adb04c3b5e05",
            "0b6f3c52-5d1e-4f5a-9a51-6f7c0e9d1a01"
        ]
    );
}

#[test]
fn replay_reads_stdin_and_sends_dead_letters_to_stderr_and_exits_3() {
    let good = std::fs::read_to_string(format!("{}/samples/embeddings.jsonl", root())).unwrap();
    let input = format!("{good}{{not json\n{good}");
    let out = run(&["replay", "-"], Some(&input));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("\"reason\"") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[test]
fn replay_writes_dead_letters_to_a_file_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dead.jsonl");
    let out = run(
        &["replay", "--deadletter", dl.to_str().unwrap(), "-"],
        Some("garbage\n"),
    );
    assert_eq!(out.status.code(), Some(3));
    let dead = std::fs::read_to_string(&dl).unwrap();
    assert_eq!(dead.lines().count(), 1);
    assert!(dead.contains("\"raw\":\"garbage\""));
}

#[test]
fn replay_accepts_a_whole_host_request_body() {
    let fixture = format!(
        "{}/tests/fixtures/host/request-eventhub-many-datatype-binary.json",
        root()
    );
    let out = run(&["replay", "--summary", &fixture], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 events: 0 billable records, 2 skipped"));
}

#[test]
fn replay_fails_clearly_on_a_missing_file() {
    let out = run(&["replay", "/nonexistent/events.jsonl"], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot open /nonexistent/events.jsonl"),
        "{err}"
    );
}

#[test]
fn an_invalid_price_sheet_or_deployment_map_is_a_clear_start_up_error() {
    let out = run(&["replay", "--deployment-models", "oops", "-"], Some(""));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("deployment=model"));
    let out = run(
        &["replay", "--price-sheet", "/nonexistent.json", "-"],
        Some(""),
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("CHARGEBACK_PRICE_SHEET"));
}

#[test]
fn a_custom_price_sheet_changes_the_cost() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("prices.json");
    std::fs::write(
        &sheet,
        r#"{"version":"contoso-ea-2026","currency":"EUR","models":{"text-embedding-3-small":{"input":1000000,"output":0}}}"#,
    )
    .unwrap();
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let out = run(
        &["replay", "--price-sheet", sheet.to_str().unwrap(), &emb],
        None,
    );
    let rec: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(rec["cost"]["total"], 21.0);
    assert_eq!(rec["cost"]["currency"], "EUR");
    assert_eq!(rec["cost"]["priceSheet"], "contoso-ea-2026");
}

#[test]
fn report_deduplicates_by_request_id_and_totals_tokens_and_cost() {
    let mut args = vec!["replay"];
    let files = samples();
    args.extend(files.iter().map(String::as_str));
    let ledger = text(&run(&args, None).stdout);
    let doubled = format!("{ledger}{ledger}");
    let once = run(
        &["report", "--by", "consumer", "--format", "json", "-"],
        Some(&ledger),
    );
    let twice = run(
        &["report", "--by", "consumer", "--format", "json", "-"],
        Some(&doubled),
    );
    assert!(once.status.success() && twice.status.success());
    assert_eq!(text(&once.stdout), text(&twice.stdout));
    let rows: serde_json::Value = serde_json::from_str(&text(&once.stdout)).unwrap();
    let calls: u64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, 11);
    let table = text(&run(&["report", "--by", "model,month", "-"], Some(&doubled)).stdout);
    assert!(table.contains("11 duplicate requestIds ignored"), "{table}");
    assert!(table.contains("2026-11"));
}

#[test]
fn report_names_an_unreadable_line_by_position_never_by_content() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let ledger = text(&run(&["replay", &emb], None).stdout);
    assert!(ledger.contains("\"promptTokens\":21"), "{ledger}");
    // serde's own message would quote the string it could not read as a number.
    let bad = ledger.replace(
        "\"promptTokens\":21",
        "\"promptTokens\":\"PLANTED-PROMPT-TEXT\"",
    );
    let err = text(&run(&["report", "-"], Some(&bad)).stderr);
    assert!(err.contains("<stdin>:1: not a usage record"), "{err}");
    assert!(!err.contains("PLANTED-PROMPT-TEXT"), "{err}");
}

#[test]
fn report_writes_csv_with_a_header() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let ledger = text(&run(&["replay", &emb], None).stdout);
    let out = run(
        &["report", "--by", "day,deployment", "--format", "csv", "-"],
        Some(&ledger),
    );
    let csv = text(&out.stdout);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("day,deployment,calls,promptTokens,completionTokens,totalTokens,cachedTokens,reasoningTokens,unpricedCalls,cost,currency")
    );
    assert_eq!(
        lines.next(),
        Some("2026-11-02,text-embedding-3-small,1,21,0,21,0,0,0,0.00000042,USD")
    );
}

#[test]
fn no_command_without_the_host_port_explains_itself() {
    let out = run(&[], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("FUNCTIONS_CUSTOMHANDLER_PORT"));
}

fn run_with_env(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .env_remove("CHARGEBACK_DEPLOYMENT_MODELS")
        .env_remove("CHARGEBACK_PRICE_SHEET")
        .env_remove("CHARGEBACK_RECORD_NON_BILLABLE")
        .env_remove("APPLICATIONINSIGHTS_CONNECTION_STRING")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn chargeback");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn an_empty_setting_means_not_set_for_replay() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    for var in [
        "CHARGEBACK_PRICE_SHEET",
        "CHARGEBACK_DEPLOYMENT_MODELS",
        "CHARGEBACK_RECORD_NON_BILLABLE",
    ] {
        let out = run_with_env(&["replay", &emb], &[(var, "")], None);
        assert_eq!(out.status.code(), Some(0), "{var}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 1, "{var}");
    }
}

#[test]
fn an_empty_setting_means_not_set_for_serve() {
    // serve with an empty price sheet setting must get past the settings: it then fails only
    // because the port setting is not a port (so the test never listens).
    let out = run_with_env(
        &["serve", "--port", "notaport"],
        &[
            ("CHARGEBACK_PRICE_SHEET", ""),
            ("CHARGEBACK_DRAIN_SECS", ""),
        ],
        None,
    );
    let err = text(&out.stderr);
    assert!(err.contains("--port") && err.contains("notaport"), "{err}");
    assert!(
        !err.contains("price-sheet") && !err.contains("drain"),
        "{err}"
    );
    let out = run_with_env(
        &["serve", "--help"],
        &[("CHARGEBACK_PRICE_SHEET", "")],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn record_non_billable_takes_no_value_so_the_file_after_it_is_read() {
    let f = format!("{}/samples/throttled-429.jsonl", root());
    let out = run_with_env(&["replay", "--record-non-billable", &f], &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"billable\":false"));
}

#[test]
fn engine_flags_exist_only_on_replay_and_serve() {
    for cmd in ["report", "resend", "statement"] {
        let help = text(&run_with_env(&[cmd, "--help"], &[], None).stdout);
        for flag in [
            "--deployments",
            "--deployment-models",
            "--record-non-billable",
            "[env: CHARGEBACK_",
        ] {
            assert!(!help.contains(flag), "{cmd} lists {flag}");
        }
        // Only report and statement have a --price-sheet, a flag that reads no setting.
        assert_eq!(help.contains("--price-sheet"), cmd != "resend", "{cmd}");
        let out = run_with_env(&[cmd, "--record-non-billable", "-"], &[], None);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
    }
    for cmd in ["replay", "serve"] {
        let help = text(&run_with_env(&[cmd, "--help"], &[], None).stdout);
        assert!(help.contains("--price-sheet"), "{cmd}");
    }
}

#[test]
fn every_command_documents_the_exit_codes_in_its_help() {
    for cmd in ["replay", "report", "resend", "serve"] {
        let help = text(&run_with_env(&[cmd, "--help"], &[], None).stdout);
        assert!(
            help.contains("3  processed with rejects") && help.contains("2  usage error"),
            "{cmd}: {help}"
        );
    }
}

#[test]
fn replay_reads_past_a_line_that_is_not_utf8_and_dead_letters_it_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(format!("{}/samples/embeddings.jsonl", root())).unwrap();
    let mut bytes = good.clone().into_bytes();
    bytes.extend_from_slice(b"{\"requestId\":\"\xff\"}\n");
    bytes.extend_from_slice(
        good.replace("\"requestId\":\"", "\"requestId\":\"x")
            .as_bytes(),
    );
    let f = dir.path().join("events.jsonl");
    std::fs::write(&f, &bytes).unwrap();
    let out = run_with_env(&["replay", f.to_str().unwrap()], &[], None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    let err = text(&out.stderr);
    let dead: serde_json::Value = serde_json::from_str(err.lines().next().unwrap()).unwrap();
    assert_eq!(dead["source"], f.to_str().unwrap());
    assert_eq!(dead["line"], 2);
    assert!(
        err.contains("exit 3 (processed with rejects): 1 dead letters"),
        "{err}"
    );
}

#[test]
fn report_skips_a_line_that_is_not_utf8_counts_it_and_exits_3() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let ledger = text(&run(&["replay", &emb], None).stdout);
    let mut bytes = b"\xff\xfe\n".to_vec();
    bytes.extend_from_slice(ledger.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("usage.jsonl");
    std::fs::write(&f, &bytes).unwrap();
    let out = run_with_env(&["report", f.to_str().unwrap()], &[], None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:1: not a usage record (not UTF-8 text)",
            f.display()
        )),
        "{err}"
    );
    assert!(text(&out.stdout).contains("text-embedding-3-small"));
}

#[test]
fn report_counts_conflicting_duplicates_apart_from_identical_ones() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let ledger = text(&run(&["replay", &emb], None).stdout);
    let redelivered = ledger.replacen("{", "{\"partitionId\":\"7\",", 1);
    let conflicting = ledger.replace("\"promptTokens\":21", "\"promptTokens\":22");
    let input = format!("{ledger}{redelivered}{conflicting}");
    let out = run(&["report", "-"], Some(&input));
    let err = text(&out.stderr);
    assert!(
        err.contains("2 duplicate requestIds ignored: 1 identical, 1 conflicting"),
        "{err}"
    );
}

#[test]
fn an_error_is_printed_once_with_its_context() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_env(&["replay", dir.path().to_str().unwrap()], &[], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.matches("os error 21").count(), 1, "{err}");
    assert!(err.contains(dir.path().to_str().unwrap()), "{err}");
}

#[test]
fn replay_with_stdout_closed_exits_1_saying_so() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let mut child = Command::new(BIN)
        .args(["replay", &emb])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is written
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stdout closed"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `chargeback ARGS` under `sh` with `redirect` (e.g. `<&-`) applied to it.
fn run_redirected(args: &[&str], redirect: &str) -> Output {
    let script = format!("exec \"$0\" \"$@\" {redirect}");
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(BIN)
        .args(args)
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("sh runs")
}

#[test]
fn replay_with_stdin_closed_exits_1_saying_so() {
    for args in [&["replay", "-"][..], &["replay"][..]] {
        let out = run_redirected(args, "<&-");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("stdin is closed"), "{args:?}: {err}");
        assert!(err.contains("exit 1"), "{args:?}: {err}");
    }
}

#[test]
fn replay_with_stdout_closed_from_the_start_exits_1_saying_so() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let out = run_redirected(&["replay", &emb], ">&-");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stdout is closed"), "{err}");
}

#[test]
fn dev_null_is_an_open_stream_empty_input_and_a_discarded_output_are_fine() {
    let emb = format!("{}/samples/embeddings.jsonl", root());
    let out = run_redirected(&["replay", "-"], "< /dev/null");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_redirected(&["replay", &emb], "> /dev/null");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn the_summary_footer_counts_zero_token_non_billable_rows_apart_from_billable_ones() {
    let s = root();
    let out = run_with_env(
        &[
            "replay",
            "--record-non-billable",
            "--summary",
            &format!("{s}/samples/throttled-429.jsonl"),
            &format!("{s}/samples/embeddings.jsonl"),
        ],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let footer = text(&out.stdout);
    assert!(
        footer.contains("2 events: 1 billable records, 1 non-billable zero-token rows"),
        "{footer}"
    );
    // The table's TOTAL counts the billable call only.
    let total = footer
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .expect("a TOTAL line");
    assert_eq!(total.split_whitespace().nth(1), Some("1"), "{total}");
}
