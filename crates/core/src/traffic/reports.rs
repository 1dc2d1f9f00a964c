//! Cold starts and the bill from the function's `REPORT` records (SPEC §15): the one CloudWatch
//! Logs Insights query, reading its one result row, and the cold-start ratio's interval.
//!
//! The query reads both log formats (Lambda Developer Guide, "Configuring JSON and plain text
//! log formats"): a text `REPORT` line, whose fields Logs Insights discovers (`@type`,
//! `@billedDuration`, `@memorySize` in bytes, `@initDuration` on cold starts: CloudWatch Logs
//! User Guide, "Supported logs and discovered fields"; Lambda Developer Guide, "Monitoring
//! Lambda SnapStart"), and a JSON `platform.report` record, whose nested keys it names with
//! dots (`record.metrics.billedDurationMs`). SnapStart's Restore Duration is not discovered in
//! text lines, so it is parsed from the message, as the SnapStart guide's own query does. A
//! cold start is a report with an Init Duration or a Restore Duration; its billed time counts
//! the Billed Restore Duration too (SPEC §3.5).

/// The Logs Insights query (golden-tested: the emulator evaluates exactly this text).
pub const REPORTS_QUERY: &str = r#"filter @type = "REPORT" or type = "platform.report"
| parse @message /Restore Duration: (?<restoreMs>[0-9.]+) ms/
| parse @message /Billed Restore Duration: (?<billedRestoreMs>[0-9]+) ms/
| fields coalesce(@billedDuration, record.metrics.billedDurationMs) + coalesce(billedRestoreMs, record.metrics.billedRestoreDurationMs, 0) as billedMs,
    coalesce(@memorySize, record.metrics.memorySizeMB * 1000000) / 1000000 as memoryMb,
    coalesce(@initDuration, record.metrics.initDurationMs, restoreMs, record.metrics.restoreDurationMs) as coldMs
| stats count(*) as reports, count(coldMs) as cold, sum(coldMs) as coldMsSum, sum(billedMs * memoryMb) as billedMbMs"#;

/// Bytes in the GB of `--max-logs-scan-gb` (AWS bills data in binary gigabytes).
pub const GB: f64 = 1_073_741_824.0;
/// Default `--max-logs-scan-gb`.
pub const DEFAULT_MAX_SCAN_GB: f64 = 5.0;
/// The z value of a two-sided 95 % interval (the nearest double to Φ⁻¹(0.975)).
pub const Z_95: f64 = 1.959963984540054;

/// What the query answered.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReportTotals {
    /// `REPORT` records.
    pub reports: u64,
    /// Of them, cold starts (Init or Restore Duration).
    pub cold: u64,
    /// Σ of the cold starts' Init (or Restore) Duration, ms.
    pub cold_ms_sum: f64,
    /// Σ billed ms × memory MB.
    pub billed_mb_ms: f64,
    /// `statistics.bytesScanned` of the query.
    pub bytes_scanned: f64,
}

/// An answer that is not the query's one row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Logs Insights answer is not the query's: {0}")]
pub struct UnexpectedAnswer(pub String);

impl ReportTotals {
    /// Reads the query's result (`[[{field, value}]]`, values as text); no row means no record
    /// matched. A field the row lacks is 0 (Logs Insights leaves out a sum over no values).
    pub fn from_rows(
        rows: &[Vec<(String, String)>],
        bytes_scanned: f64,
    ) -> Result<ReportTotals, UnexpectedAnswer> {
        let Some(row) = rows.first() else {
            return Ok(ReportTotals {
                bytes_scanned,
                ..ReportTotals::default()
            });
        };
        if rows.len() > 1 {
            return Err(UnexpectedAnswer(format!("{} rows, not one", rows.len())));
        }
        let number = |name: &str| -> Result<f64, UnexpectedAnswer> {
            match row.iter().find(|(field, _)| field == name) {
                None => Ok(0.0),
                Some((_, text)) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| UnexpectedAnswer(format!("{name} = {text:?}"))),
            }
        };
        let count = |name: &str| number(name).map(|v| v.round() as u64);
        let totals = ReportTotals {
            reports: count("reports")?,
            cold: count("cold")?,
            cold_ms_sum: number("coldMsSum")?,
            billed_mb_ms: number("billedMbMs")?,
            bytes_scanned,
        };
        if totals.cold > totals.reports {
            return Err(UnexpectedAnswer(format!(
                "{} cold starts in {} reports",
                totals.cold, totals.reports
            )));
        }
        Ok(totals)
    }

    /// `cold / reports` (none without reports).
    pub fn ratio(&self) -> Option<f64> {
        (self.reports > 0).then(|| self.cold as f64 / self.reports as f64)
    }

    /// The average Init (or Restore) Duration of a cold start (none without one).
    pub fn average_init_ms(&self) -> Option<f64> {
        (self.cold > 0).then(|| self.cold_ms_sum / self.cold as f64)
    }

    /// GB-seconds per invocation: `Σ(billed ms × memory MB / 1024) / 1000 / reports`.
    pub fn gb_seconds_per_invocation(&self) -> Option<f64> {
        (self.reports > 0).then(|| self.billed_mb_ms / 1024.0 / 1000.0 / self.reports as f64)
    }
}

/// The Wilson score interval of `successes` in `trials` at `z` (none without trials):
/// `(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`, kept within [0, 1].
pub fn wilson(successes: u64, trials: u64, z: f64) -> Option<(f64, f64)> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_query_is_golden() {
        assert_eq!(
            REPORTS_QUERY,
            "filter @type = \"REPORT\" or type = \"platform.report\"\n\
             | parse @message /Restore Duration: (?<restoreMs>[0-9.]+) ms/\n\
             | parse @message /Billed Restore Duration: (?<billedRestoreMs>[0-9]+) ms/\n\
             | fields coalesce(@billedDuration, record.metrics.billedDurationMs) + coalesce(billedRestoreMs, record.metrics.billedRestoreDurationMs, 0) as billedMs,\n    \
             coalesce(@memorySize, record.metrics.memorySizeMB * 1000000) / 1000000 as memoryMb,\n    \
             coalesce(@initDuration, record.metrics.initDurationMs, restoreMs, record.metrics.restoreDurationMs) as coldMs\n\
             | stats count(*) as reports, count(coldMs) as cold, sum(coldMs) as coldMsSum, sum(billedMs * memoryMb) as billedMbMs"
        );
    }

    #[test]
    fn one_row_read_by_name() {
        // 40 reports at 512 MB, 4 cold with 250 ms INIT each, 100 ms billed each (cold ones
        // bill INIT too on provided.al2023: 350 ms).
        let billed = 36.0 * 100.0 * 512.0 + 4.0 * 350.0 * 512.0;
        let r = ReportTotals::from_rows(
            &[row(&[
                ("reports", "40"),
                ("cold", "4"),
                ("coldMsSum", "1000.0"),
                ("billedMbMs", &billed.to_string()),
            ])],
            8192.0,
        )
        .expect("row");
        assert_eq!((r.reports, r.cold), (40, 4));
        assert_eq!(r.ratio(), Some(0.1));
        assert_eq!(r.average_init_ms(), Some(250.0));
        assert_eq!(
            r.gb_seconds_per_invocation(),
            Some(billed / 1024.0 / 1000.0 / 40.0)
        );
        assert_eq!(r.bytes_scanned, 8192.0);
    }

    #[test]
    fn no_row_and_missing_sums_are_zero() {
        let none = ReportTotals::from_rows(&[], 0.0).expect("no row");
        assert_eq!(none.reports, 0);
        assert_eq!((none.ratio(), none.average_init_ms()), (None, None));
        // All warm: Logs Insights leaves the sum over no cold start out of the row.
        let warm =
            ReportTotals::from_rows(&[row(&[("reports", "3"), ("cold", "0")])], 0.0).expect("warm");
        assert_eq!((warm.cold, warm.cold_ms_sum), (0, 0.0));
        assert_eq!(warm.ratio(), Some(0.0));
    }

    #[test]
    fn answers_that_are_not_the_querys_are_errors() {
        let bad = ReportTotals::from_rows(&[row(&[("reports", "many")])], 0.0);
        assert_eq!(
            bad.expect_err("text").to_string(),
            "the Logs Insights answer is not the query's: reports = \"many\""
        );
        let two = vec![row(&[("reports", "1")]), row(&[("reports", "2")])];
        assert!(ReportTotals::from_rows(&two, 0.0).is_err());
        let more_cold = ReportTotals::from_rows(&[row(&[("reports", "1"), ("cold", "2")])], 0.0);
        assert!(more_cold.is_err());
    }

    #[test]
    fn wilson_by_hand() {
        // 4 of 40 at z = 1.96: p = 0.1, z²/n = 0.096040…; center = (0.1 + 0.048020) / 1.096040,
        // half = 1.959964 × √(0.1 × 0.9 / 40 + 0.0024010) / 1.096040.
        let (low, high) = wilson(4, 40, Z_95).expect("interval");
        let z2 = Z_95 * Z_95;
        let d = 1.0 + z2 / 40.0;
        let center = (0.1 + z2 / 80.0) / d;
        let half = Z_95 * (0.09 / 40.0 + z2 / 6400.0).sqrt() / d;
        assert!((low - (center - half)).abs() < 1e-15 && (high - (center + half)).abs() < 1e-15);
        // The same formula evaluated in Python: 4/40 → [0.039580, 0.230518].
        assert!((low - 0.039_580).abs() < 1e-6, "{low}");
        assert!((high - 0.230_518).abs() < 1e-6, "{high}");
        // None cold in 10: [0, 0.2775]; all cold: [0.7225, 1].
        let (l0, h0) = wilson(0, 10, Z_95).expect("zero");
        assert_eq!(l0, 0.0);
        assert!((h0 - 0.277_533).abs() < 1e-6, "{h0}");
        let (l1, h1) = wilson(10, 10, Z_95).expect("all");
        assert!(
            (l1 - 0.722_467).abs() < 1e-6 && (h1 - 1.0).abs() < 1e-12,
            "{l1} {h1}"
        );
        assert_eq!(wilson(0, 0, Z_95), None);
        assert_eq!(wilson(3, 2, Z_95), None);
    }
}
