//! Payload generation (SPEC §3.2, §3.3): plain, JSON-string and weighted payloads, and the
//! `payloadS3` path format.

use std::sync::Arc;

use serde_json::Value;

/// Where the invocations' payload comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadSpec {
    /// The input's `payload` key (`None` when absent).
    Inline(Option<Value>),
    /// The input's `payloadS3` key, read once per executor.
    S3(S3Location),
}

/// Why a payload cannot be planned or a `payloadS3` path is invalid (SPEC §3.2, §3.3), with the
/// original's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Fewer invocations than weighted payloads.
    #[error("You have {payloads} payloads and only \"num\"={num}. Please increase \"num\".")]
    TooFewInvocations {
        /// Weighted payloads.
        payloads: usize,
        /// The input's `num`.
        num: u32,
    },
    /// A weight whose share of `num` rounds down to no invocation.
    #[error("Invalid payload weight (num is too small)")]
    WeightTooSmall,
    /// `payloadS3` that is not a string starting with `s3://`.
    #[error("Invalid S3 path, not a string in the format s3://BUCKET/KEY")]
    S3PathFormat,
    /// `payloadS3` without a bucket or a key.
    #[error("Invalid S3 path: \"{path}\" (bucket: {bucket}, key: {key})")]
    S3Path {
        /// The path as given.
        path: String,
        /// Its bucket part.
        bucket: String,
        /// Its (decoded) key part.
        key: String,
    },
}

/// An S3 object location from `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Object key (percent-decoded).
    pub key: String,
}

impl S3Location {
    /// Parses `s3://BUCKET/KEY` with the original's messages.
    pub fn parse(value: &Value) -> Result<S3Location, PayloadError> {
        let path = value
            .as_str()
            .filter(|s| s.starts_with("s3://"))
            .ok_or(PayloadError::S3PathFormat)?;
        let rest = &path["s3://".len()..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let key = percent_decode(key);
        if bucket.is_empty() || key.is_empty() {
            return Err(PayloadError::S3Path {
                path: path.to_string(),
                bucket: bucket.to_string(),
                key,
            });
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            key,
        })
    }
}

/// Decodes `%XX` escapes (as `decodeURIComponent` does); malformed escapes are kept as they
/// are, and a result that is not UTF-8 leaves the text as it was.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .unwrap_or_else(|_| text.to_string())
}

/// The bytes an invocation sends, shared between invocations that send the same thing.
pub type Payload = Arc<str>;

/// JavaScript truthiness of a JSON value.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
    }
}

/// A weighted payload: a non-empty array whose every element has a truthy `weight` and a truthy
/// `payload` (the original's test).
pub fn is_weighted(payload: &Value) -> bool {
    match payload {
        Value::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|p| truthy(p.get("weight")) && truthy(p.get("payload")))
        }
        _ => false,
    }
}

/// The bytes sent for one payload value: absent → `null`; a string that parses as JSON is sent
/// as is; anything else is sent as its JSON encoding (`"abc"` → `"\"abc\""`).
pub fn encode(payload: Option<&Value>) -> Payload {
    match payload {
        None => Arc::from("null"),
        Some(Value::String(s)) if serde_json::from_str::<Value>(s).is_ok() => Arc::from(s.as_str()),
        Some(value) => Arc::from(value.to_string()),
    }
}

/// The payloads of one memory size's invocations, without materialising them: every index maps
/// to its payload (handler memory does not grow with `num`).
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadPlan {
    /// Every invocation sends the same bytes.
    Same(Payload),
    /// Weighted payloads: contiguous blocks, as `(end index, exclusive; payload)` in order.
    Weighted(Vec<(usize, Payload)>),
}

impl PayloadPlan {
    /// Plans the `num` payloads of one memory size.
    ///
    /// Weighted payloads get `floor(weight·num/total)` invocations each, in contiguous blocks in
    /// input order, the last element taking the remainder.
    pub fn new(num: u32, payload: Option<&Value>) -> Result<PayloadPlan, PayloadError> {
        let num_usize = num as usize;
        let Some(items) = payload.filter(|p| is_weighted(p)).and_then(Value::as_array) else {
            return Ok(PayloadPlan::Same(encode(payload)));
        };
        if num_usize < items.len() {
            return Err(PayloadError::TooFewInvocations {
                payloads: items.len(),
                num,
            });
        }
        let weights: Vec<f64> = items
            .iter()
            .map(|p| p.get("weight").and_then(Value::as_f64).unwrap_or(f64::NAN))
            .collect();
        let total: f64 = weights.iter().fold(0.0, |a, b| a + b);
        let mut blocks = Vec::with_capacity(items.len());
        let mut planned = 0usize;
        for (i, (item, weight)) in items.iter().zip(&weights).enumerate() {
            let share = (weight * f64::from(num) / total).floor();
            // NaN (a non-numeric weight) fails this test too.
            if share.is_nan() || share < 1.0 {
                return Err(PayloadError::WeightTooSmall);
            }
            let how_many = if i == items.len() - 1 {
                num_usize.saturating_sub(planned)
            } else {
                (share as usize).min(num_usize - planned)
            };
            planned += how_many;
            blocks.push((planned, encode(item.get("payload"))));
        }
        Ok(PayloadPlan::Weighted(blocks))
    }

    /// The size of the largest payload sent, in bytes.
    pub fn largest(&self) -> usize {
        match self {
            PayloadPlan::Same(payload) => payload.len(),
            PayloadPlan::Weighted(blocks) => blocks.iter().map(|(_, p)| p.len()).max().unwrap_or(0),
        }
    }

    /// The payload of invocation `index` (0-based; past the end, the last block's).
    pub fn at(&self, index: usize) -> &Payload {
        match self {
            PayloadPlan::Same(payload) => payload,
            PayloadPlan::Weighted(blocks) => {
                let block = blocks.partition_point(|(end, _)| *end <= index);
                &blocks[block.min(blocks.len() - 1)].1
            }
        }
    }
}

/// A payload read from S3: JSON if it parses, else the raw text as a JSON string.
pub fn from_s3_body(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn generate(num: u32, payload: Option<&Value>) -> Result<Vec<Payload>, PayloadError> {
        let plan = PayloadPlan::new(num, payload)?;
        Ok((0..num as usize).map(|i| plan.at(i).clone()).collect())
    }

    fn texts(payloads: &[Payload]) -> Vec<&str> {
        payloads.iter().map(|p| &**p).collect()
    }

    #[test]
    fn plans_do_not_grow_with_num() {
        let weighted = json!([{"weight": 1, "payload": 1}, {"weight": 3, "payload": 2}]);
        let plan = PayloadPlan::new(100_000, Some(&weighted)).expect("plan");
        assert_eq!(
            plan,
            PayloadPlan::Weighted(vec![(25_000, Arc::from("1")), (100_000, Arc::from("2"))])
        );
        assert_eq!(&**plan.at(24_999), "1");
        assert_eq!(&**plan.at(25_000), "2");
        assert_eq!(&**plan.at(99_999), "2");
        assert_eq!(
            PayloadPlan::new(u32::MAX, None).expect("same"),
            PayloadPlan::Same(Arc::from("null"))
        );
    }

    #[test]
    fn the_largest_payload_bounds_what_a_request_copies() {
        let same = PayloadPlan::new(10, Some(&json!("abc"))).expect("plan");
        assert_eq!(same.largest(), "\"abc\"".len());
        let weighted = PayloadPlan::new(
            10,
            Some(&json!([{"weight": 1, "payload": "x"}, {"weight": 1, "payload": {"k": "long value"}}])),
        )
        .expect("plan");
        assert_eq!(weighted.largest(), r#"{"k":"long value"}"#.len());
        assert_eq!(PayloadPlan::new(1, None).expect("plan").largest(), 4);
    }

    #[test]
    fn plain_payloads() {
        assert_eq!(texts(&generate(5, None).expect("none")), vec!["null"; 5]);
        assert_eq!(&*encode(Some(&json!("abc"))), "\"abc\"");
        assert_eq!(&*encode(Some(&json!("{\"a\":1}"))), "{\"a\":1}");
        assert_eq!(&*encode(Some(&json!("123"))), "123");
        assert_eq!(&*encode(Some(&json!({"a": [1, 2]}))), "{\"a\":[1,2]}");
        assert_eq!(&*encode(Some(&json!(null))), "null");
        assert_eq!(&*encode(Some(&json!(42))), "42");
        // An array that is not weighted is sent literally as one payload.
        assert_eq!(
            texts(&generate(5, Some(&json!([1, 2]))).expect("array")),
            vec!["[1,2]"; 5]
        );
        assert_eq!(
            texts(&generate(5, Some(&json!([]))).expect("empty")),
            vec!["[]"; 5]
        );
        let falsy = json!([{"weight": 1, "payload": 0}]);
        assert_eq!(
            texts(&generate(5, Some(&falsy)).expect("falsy")),
            vec![falsy.to_string().as_str(); 5]
        );
    }

    #[test]
    fn weighted_blocks() {
        let weighted = json!([
            {"weight": 5, "payload": {"a": 1}},
            {"weight": 15, "payload": "x"},
            {"weight": 30, "payload": "{\"c\":3}"}
        ]);
        let got = generate(10, Some(&weighted)).expect("weighted");
        // floor(5·10/50)=1, floor(15·10/50)=3, last takes the remaining 6.
        let mut expected = vec!["{\"a\":1}"];
        expected.extend(["\"x\""; 3]);
        expected.extend(["{\"c\":3}"; 6]);
        assert_eq!(texts(&got), expected);

        let thirds = json!([{"weight": 1, "payload": 1}, {"weight": 1, "payload": 2}, {"weight": 1, "payload": 3}]);
        assert_eq!(
            texts(&generate(10, Some(&thirds)).expect("thirds")),
            vec!["1", "1", "1", "2", "2", "2", "3", "3", "3", "3"]
        );
    }

    #[test]
    fn weighted_errors() {
        let two = json!([{"weight": 1, "payload": 1}, {"weight": 1, "payload": 2}]);
        assert_eq!(
            generate(1, Some(&two)).expect_err("too few").to_string(),
            "You have 2 payloads and only \"num\"=1. Please increase \"num\"."
        );
        let skewed = json!([{"weight": 1, "payload": 1}, {"weight": 99, "payload": 2}]);
        assert_eq!(
            generate(50, Some(&skewed))
                .expect_err("share < 1")
                .to_string(),
            "Invalid payload weight (num is too small)"
        );
        let text_weight = json!([{"weight": "heavy", "payload": 1}]);
        assert_eq!(
            generate(5, Some(&text_weight))
                .expect_err("NaN")
                .to_string(),
            "Invalid payload weight (num is too small)"
        );
    }

    #[test]
    fn s3_paths() {
        let loc = S3Location::parse(&json!("s3://my-bucket/a/b%20c.json")).expect("valid");
        assert_eq!(
            loc,
            S3Location {
                bucket: "my-bucket".into(),
                key: "a/b c.json".into()
            }
        );
        assert_eq!(
            S3Location::parse(&json!("s3://b"))
                .expect_err("no key")
                .to_string(),
            "Invalid S3 path: \"s3://b\" (bucket: b, key: )"
        );
        assert_eq!(
            S3Location::parse(&json!(7)).expect_err("not a string"),
            PayloadError::S3PathFormat
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn s3_bodies() {
        assert_eq!(from_s3_body(b"{\"a\":1}"), json!({"a": 1}));
        assert_eq!(from_s3_body(b"hello"), json!("hello"));
        assert_eq!(&*encode(Some(&from_s3_body(b"hello"))), "\"hello\"");
        assert_eq!(
            &*encode(Some(&from_s3_body(b"\"{\\\"a\\\":1}\""))),
            "{\"a\":1}"
        );
    }
}
