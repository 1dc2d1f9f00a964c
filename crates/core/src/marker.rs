//! The run marker (SPEC §3.1): a suffix on `$LATEST`'s description while a run publishes, so
//! every published version is new (the original deleted a version it had not created when
//! PublishVersion returned an existing one, its issue #124) and every version of a run can be
//! found again for cleanup, even after a crash.
//!
//! Format: `[power-tuning <run-id> <power>MB[ #<copy>] from <original>MB[ at <unix-time>]]`,
//! e.g. `my description [power-tuning 3f9a1c2b7d4e 512MB from 1024MB at 1764645123]`. The
//! start time tells a live run from one that crashed long ago (SPEC §12); markers written
//! without it (older releases) still parse.

use std::fmt;

/// Lambda's description limit, in characters.
pub const MAX_DESCRIPTION: usize = 256;
const PREFIX: &str = "[power-tuning ";

/// A run's identifier: 12 hex digits derived from the Step Functions execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// Derives the run id from a stable source (the execution ARN or name): FNV-1a, 48 bits.
    pub fn derive(source: &str) -> RunId {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in source.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        RunId(format!("{:012x}", hash >> 16))
    }

    /// Accepts an existing id (12 lowercase hex digits).
    pub fn parse(text: &str) -> Option<RunId> {
        (text.len() == 12
            && text
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
        .then(|| RunId(text.to_string()))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The run that wrote it.
    pub run_id: RunId,
    /// Memory size of the configuration.
    pub power: u32,
    /// Copy index with `onlyColdStarts` (0 otherwise).
    pub copy: u32,
    /// `$LATEST`'s memory before the run.
    pub original_memory: u32,
    /// When the run started (seconds since the Unix epoch), when the marker says.
    pub started: Option<u64>,
}

impl Marker {
    /// The marker text.
    pub fn render(&self) -> String {
        let copy = if self.copy > 0 {
            format!(" #{}", self.copy)
        } else {
            String::new()
        };
        let at = self.started.map(|t| format!(" at {t}")).unwrap_or_default();
        format!(
            "{PREFIX}{} {}MB{copy} from {}MB{at}]",
            self.run_id, self.power, self.original_memory
        )
    }

    /// Whether the run that wrote this marker may still be running at `now` (seconds since the
    /// epoch): it started less than `timeout` seconds ago. A marker without a start time is
    /// from an older release and treated as stale.
    pub fn is_live(&self, now: u64, timeout: u64) -> bool {
        self.started
            .is_some_and(|started| now.saturating_sub(started) < timeout)
    }

    /// Finds the marker at the end of a description.
    pub fn find(description: &str) -> Option<Marker> {
        let start = description.rfind(PREFIX)?;
        let body = description[start + PREFIX.len()..].strip_suffix(']')?;
        let mut words = body.split(' ');
        let run_id = RunId::parse(words.next()?)?;
        let power = words.next()?.strip_suffix("MB")?.parse().ok()?;
        let mut next = words.next()?;
        let mut copy = 0;
        if let Some(index) = next.strip_prefix('#') {
            copy = index.parse().ok()?;
            next = words.next()?;
        }
        if next != "from" {
            return None;
        }
        let original_memory = words.next()?.strip_suffix("MB")?.parse().ok()?;
        let started = match words.next() {
            None => None,
            Some("at") => Some(words.next()?.parse().ok()?),
            Some(_) => return None,
        };
        if words.next().is_some() {
            return None;
        }
        Some(Marker {
            run_id,
            power,
            copy,
            original_memory,
            started,
        })
    }

    /// The description to set while publishing: the original, trimmed so the whole stays within
    /// Lambda's 256 characters, then the marker.
    pub fn describe(&self, original: &str) -> String {
        let marker = self.render();
        let budget = MAX_DESCRIPTION.saturating_sub(marker.chars().count() + 1);
        let kept: String = original.chars().take(budget).collect();
        let kept = kept.trim_end();
        if kept.is_empty() {
            marker
        } else {
            format!("{kept} {marker}")
        }
    }
}

/// A Unix time as ISO 8601 UTC (`2026-12-02T10:15:00Z`).
pub fn iso8601(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds = unix_seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60
    )
}

/// The description without a trailing marker (what it was before the run, up to trimming).
pub fn strip(description: &str) -> &str {
    match (Marker::find(description), description.rfind(PREFIX)) {
        (Some(_), Some(start)) => description[..start].trim_end(),
        _ => description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(copy: u32) -> Marker {
        Marker {
            run_id: RunId::derive("arn:aws:states:us-east-1:123456789012:execution:sm:run-1"),
            power: 512,
            copy,
            original_memory: 1024,
            started: None,
        }
    }

    #[test]
    fn run_ids_are_stable_and_short() {
        let a = RunId::derive("exec-a");
        assert_eq!(a, RunId::derive("exec-a"));
        assert_ne!(a, RunId::derive("exec-b"));
        assert_eq!(a.as_str().len(), 12);
        assert_eq!(RunId::parse(a.as_str()), Some(a));
        assert_eq!(RunId::parse("XYZ"), None);
    }

    #[test]
    fn render_and_find() {
        let m = marker(0);
        let text = m.describe("my function");
        assert_eq!(
            text,
            format!("my function [power-tuning {} 512MB from 1024MB]", m.run_id)
        );
        assert_eq!(Marker::find(&text), Some(m.clone()));
        assert_eq!(strip(&text), "my function");
        let copy = marker(7);
        let text = copy.describe("");
        assert_eq!(
            text,
            format!("[power-tuning {} 512MB #7 from 1024MB]", copy.run_id)
        );
        assert_eq!(Marker::find(&text), Some(copy));
        assert_eq!(strip(&text), "");
    }

    #[test]
    fn start_time_and_liveness() {
        let m = Marker {
            started: Some(1_764_645_123),
            ..marker(2)
        };
        let text = m.describe("app");
        assert_eq!(
            text,
            format!(
                "app [power-tuning {} 512MB #2 from 1024MB at 1764645123]",
                m.run_id
            )
        );
        assert_eq!(Marker::find(&text), Some(m.clone()));
        assert!(m.is_live(1_764_645_123 + 299, 300));
        assert!(!m.is_live(1_764_645_123 + 300, 300));
        assert!(!marker(0).is_live(0, 300), "no start time: stale");
        assert_eq!(
            Marker::find("[power-tuning 0123456789ab 512MB from 1024MB at soon]"),
            None
        );
        assert_eq!(iso8601(1_764_645_123), "2025-12-02T03:12:03Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn long_descriptions_are_trimmed_to_256() {
        let m = marker(3);
        let text = m.describe(&"é".repeat(300));
        assert_eq!(text.chars().count(), 256);
        assert_eq!(Marker::find(&text), Some(m));
    }

    #[test]
    fn foreign_descriptions_have_no_marker() {
        for text in [
            "",
            "plain",
            "[power-tuning abc]",
            "x [power-tuning 0123456789ab 512MB from 1024MB] trailing",
            "[power-tuning 0123456789ab 512MB to 1024MB]",
        ] {
            assert_eq!(Marker::find(text), None, "{text}");
            assert_eq!(strip(text), text);
        }
    }
}
