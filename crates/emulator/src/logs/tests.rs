//! Logs Insights over text and JSON `REPORT` records, SnapStart restores included, with the
//! figures worked out by hand, for the very query `power-tuning traffic` sends (core's
//! constant, golden-tested there).

use super::eval::Answer;
use super::*;

/// The query `power-tuning traffic` sends.
const QUERY: &str = power_tuning_core::traffic::reports::REPORTS_QUERY;

const GROUP: &str = "/aws/lambda/f";
const LOG: &str = "123456789012:/aws/lambda/f";

/// Six reports: text cold and warm at 512 MB, JSON cold and warm at 1024 MB, a SnapStart
/// restore as text (256 MB) and as JSON (512 MB); and lines that are not reports.
const LOG_LINES: &str = concat!(
    "INIT_START Runtime Version: provided:al2023.v100\n",
    "START RequestId: a Version: $LATEST\n",
    "hello from the function\n",
    "END RequestId: a\n",
    "REPORT RequestId: a\tDuration: 12.34 ms\tBilled Duration: 263 ms\tMemory Size: 512 MB\tMax Memory Used: 40 MB\tInit Duration: 250.10 ms\t\n",
    "REPORT RequestId: b\tDuration: 10.01 ms\tBilled Duration: 11 ms\tMemory Size: 512 MB\tMax Memory Used: 41 MB\t\n",
    "{\"time\":\"2026-12-06T10:00:00.000Z\",\"type\":\"platform.start\",\"record\":{\"requestId\":\"c\",\"version\":\"$LATEST\"}}\n",
    "{\"time\":\"2026-12-06T10:00:00.000Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"c\",\"metrics\":{\"durationMs\":20.5,\"billedDurationMs\":321,\"memorySizeMB\":1024,\"maxMemoryUsedMB\":50,\"initDurationMs\":300.0},\"status\":\"success\"}}\n",
    "{\"time\":\"2026-12-06T10:00:00.000Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"d\",\"metrics\":{\"durationMs\":20.1,\"billedDurationMs\":21,\"memorySizeMB\":1024,\"maxMemoryUsedMB\":50},\"status\":\"success\"}}\n",
    "REPORT RequestId: e\tDuration: 30.00 ms\tBilled Duration: 31 ms\tMemory Size: 256 MB\tMax Memory Used: 60 MB\tRestore Duration: 474.16 ms\tBilled Restore Duration: 212 ms\t\n",
    "{\"time\":\"2026-12-06T10:00:00.000Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"g\",\"status\":\"success\",\"metrics\":{\"durationMs\":147.156,\"billedDurationMs\":201,\"memorySizeMB\":512,\"maxMemoryUsedMB\":91,\"restoreDurationMs\":500.795,\"billedRestoreDurationMs\":53}}}\n",
);

fn store() -> LogStore {
    let store = LogStore::default();
    store.append(
        GROUP,
        "2026/12/06/[$LATEST]0001",
        1_796_552_000_500,
        LOG_LINES,
    );
    store
}

/// Runs the query over `[start, end]` and waits for it through Scheduled and Running.
fn answer(store: &LogStore, start: i64, end: i64) -> Answer {
    let id = store
        .start_query(GROUP, start, end, QUERY, LOG)
        .expect("start");
    complete(store, &id).answer
}

fn complete(store: &LogStore, id: &str) -> QueryProgress {
    for expected in ["Scheduled", "Running"] {
        let progress = store.results(id).expect("results");
        assert_eq!(progress.status, expected);
        assert!(progress.answer.rows.is_empty(), "no rows before Complete");
    }
    let progress = store.results(id).expect("results");
    assert_eq!(progress.status, "Complete");
    progress
}

#[test]
fn text_json_and_snapstart_reports_by_hand() {
    let store = store();
    let id = store
        .start_query(GROUP, 1_796_552_000, 1_796_552_000, QUERY, LOG)
        .expect("start");
    let done = complete(&store, &id);
    // reports: a, b, c, d, e, g = 6; cold: a (Init), c (initDurationMs), e (Restore), g
    // (restoreDurationMs) = 4; their cold ms: 250.10 + 300 + 474.16 + 500.795 = 1525.055.
    // billed ms × MB: 263×512 + 11×512 + 321×1024 + 21×1024 + (31+212)×256 + (201+53)×512
    // = 134656 + 5632 + 328704 + 21504 + 62208 + 130048 = 682752.
    assert_eq!(done.answer.rows.len(), 1);
    let row: std::collections::BTreeMap<&str, &str> = done.answer.rows[0]
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_str()))
        .collect();
    assert_eq!(row["reports"], "6");
    assert_eq!(row["cold"], "4");
    let cold_ms: f64 = row["coldMsSum"].parse().expect("number");
    assert!((cold_ms - 1525.055).abs() < 1e-9, "{cold_ms}");
    assert_eq!(row["billedMbMs"], "682752");
    assert_eq!(done.answer.records_scanned, 11);
    assert_eq!(done.answer.records_matched, 6);
    assert_eq!(
        done.answer.bytes_scanned,
        LOG_LINES.lines().map(|l| l.len() as u64).sum::<u64>()
    );
}

#[test]
fn no_matching_record_is_no_row() {
    let store = LogStore::default();
    let at = 1_796_552_000_000;
    store.append(GROUP, "s", at, "START RequestId: a Version: 1\n");
    assert!(answer(&store, 1_796_551_000, 1_796_553_000).rows.is_empty());
    // Sums over no value are left out of a row, not written as 0.
    store.append(
        GROUP,
        "s",
        at,
        "REPORT RequestId: b\tDuration: 1.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB\t\n",
    );
    let done = answer(&store, 1_796_551_000, 1_796_553_000);
    let fields: Vec<&str> = done.rows[0].iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["reports", "cold", "billedMbMs"]);
}

#[test]
fn the_time_range_is_inclusive_in_seconds() {
    let store = store();
    // The events are at 1796552000.500 s: a range ending at 1796551999 misses them, one
    // starting at 1796552000 holds them.
    let miss = store
        .start_query(GROUP, 1_796_551_000, 1_796_551_999, QUERY, LOG)
        .expect("start");
    assert!(complete(&store, &miss).answer.rows.is_empty());
    assert_eq!(store.results(&miss).expect("again").status, "Complete");
}

#[test]
fn refusals_carry_the_logs_error_codes() {
    let store = store();
    let missing = store
        .start_query("/aws/lambda/other", 0, 1, QUERY, LOG)
        .expect_err("no group");
    assert_eq!(missing.code(), "ResourceNotFoundException");
    let malformed = store
        .start_query(GROUP, 0, 1, "stats count(*) as n by bin(1h)", LOG)
        .expect_err("by");
    assert_eq!(malformed.code(), "MalformedQueryException");
    let backwards = store
        .start_query(GROUP, 2, 1, QUERY, LOG)
        .expect_err("range");
    assert_eq!(backwards.code(), "InvalidParameterException");
    assert_eq!(
        store.results("nope").expect_err("id").code(),
        "ResourceNotFoundException"
    );
    // A running query stops once; a finished one is not running.
    let id = store.start_query(GROUP, 0, 1, QUERY, LOG).expect("start");
    store.stop(&id).expect("stop");
    assert_eq!(store.results(&id).expect("r").status, "Cancelled");
    assert_eq!(
        store.stop(&id).expect_err("again").code(),
        "InvalidParameterException"
    );
    let id = store.start_query(GROUP, 0, 1, QUERY, LOG).expect("start");
    complete(&store, &id);
    assert_eq!(
        store.stop(&id).expect_err("done").code(),
        "InvalidParameterException"
    );
}

#[test]
fn groups_keep_a_bounded_number_of_events() {
    let store = LogStore::default();
    let lines: String = (0..MAX_EVENTS_PER_GROUP + 10)
        .map(|i| format!("line {i}\n"))
        .collect();
    store.append(GROUP, "s", 0, &lines);
    let id = store
        .start_query(GROUP, 0, 1, "stats count(*) as n", LOG)
        .expect("start");
    let done = complete(&store, &id);
    assert_eq!(
        done.answer.rows[0],
        [("n".to_string(), MAX_EVENTS_PER_GROUP.to_string())]
    );
}
