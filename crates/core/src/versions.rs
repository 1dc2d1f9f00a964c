//! Version numbers recorded by a run, stored compactly in the state (`["7-16", "18"]`) so the
//! state stays far below Step Functions' 256 KiB even with `"ALL"` and `onlyColdStarts`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most versions one configuration can have (`num` with `onlyColdStarts`).
pub const MAX_VERSIONS: usize = crate::input::MAX_NUM as usize;

/// An ordered list of version numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionList(pub Vec<u64>);

impl VersionList {
    /// The versions as Lambda qualifiers.
    pub fn qualifiers(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(u64::to_string)
    }

    /// Contiguous runs rendered as `a-b`, single versions as `a`.
    pub fn to_ranges(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut iter = self.0.iter().copied().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&(end + 1)) {
                end += 1;
                iter.next();
            }
            out.push(if end == start {
                start.to_string()
            } else {
                format!("{start}-{end}")
            });
        }
        out
    }

    /// Parses ranges (`"7-16"`), single versions (`"7"`) or numbers.
    pub fn from_ranges(items: &[serde_json::Value]) -> Result<VersionList, VersionsError> {
        let mut out = Vec::new();
        for item in items {
            let text = match item {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => return Err(VersionsError::Invalid(other.to_string())),
            };
            let bad = || VersionsError::Invalid(text.clone());
            match text.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (u64, u64) =
                        (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                    if b < a || b - a >= MAX_VERSIONS as u64 {
                        return Err(bad());
                    }
                    out.extend(a..=b);
                }
                None => out.push(text.parse().map_err(|_| bad())?),
            }
            // A configuration never has more versions than `num` allows: a forged list cannot
            // make a handler allocate without bound.
            if out.len() > MAX_VERSIONS {
                return Err(VersionsError::TooMany);
            }
        }
        Ok(VersionList(out))
    }
}

/// A recorded version list that is not one this tool writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionsError {
    /// An item that is not a version or a range of versions.
    #[error("invalid version: {0}")]
    Invalid(String),
    /// More versions than one configuration can have.
    #[error("more than {MAX_VERSIONS} versions")]
    TooMany,
}

impl Serialize for VersionList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_ranges().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for VersionList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = Vec::<serde_json::Value>::deserialize(deserializer)?;
        VersionList::from_ranges(&items).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_round_trip() {
        let list = VersionList(vec![7, 8, 9, 10, 12, 14, 15]);
        let json = serde_json::to_value(&list).expect("serialize");
        assert_eq!(json, json!(["7-10", "12", "14-15"]));
        let back: VersionList = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, list);
        let single: VersionList = serde_json::from_value(json!(["7"])).expect("single");
        assert_eq!(single.qualifiers().collect::<Vec<_>>(), vec!["7"]);
        let numbers: VersionList = serde_json::from_value(json!([3, "5"])).expect("numbers");
        assert_eq!(numbers.0, vec![3, 5]);
        assert!(serde_json::from_value::<VersionList>(json!(["9-3"])).is_err());
        assert!(serde_json::from_value::<VersionList>(json!(["x"])).is_err());
        assert!(serde_json::from_value::<VersionList>(json!(["1-999999999999"])).is_err());
        assert!(serde_json::from_value::<VersionList>(json!(["1-60000", "70000-130000"])).is_err());
        assert!(serde_json::from_value::<VersionList>(json!(["1-100000"])).is_ok());
    }

    #[test]
    fn all_sizes_with_cold_starts_stay_small() {
        // 46 sizes × 1000 contiguous versions each.
        let lists: Vec<VersionList> = (0..46u64)
            .map(|i| VersionList((i * 1000 + 1..=(i + 1) * 1000).collect()))
            .collect();
        let size = serde_json::to_string(&lists).expect("json").len();
        assert!(size < 2_000, "{size} bytes");
    }
}
