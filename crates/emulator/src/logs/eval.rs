//! Evaluating a Logs Insights query over log events, with the fields Logs Insights discovers
//! in them (CloudWatch Logs User Guide, "Supported logs and discovered fields"): every event
//! has `@timestamp`, `@message`, `@logStream` and `@log`; a Lambda text line gets `@type`
//! (`START`, `END`, `REPORT`, ...) and `@requestId`, and a `REPORT` line its metrics
//! (`@duration`, `@billedDuration`, `@initDuration` on a cold start, and `@memorySize`,
//! `@maxMemoryUsed` in bytes: MB × 1,000,000, as AWS's sample queries divide them); a JSON
//! event's keys, nested ones named with dots (`record.metrics.billedDurationMs`). A JSON
//! `platform.report` record gets no `@` metrics: a query must read its own keys.

use std::collections::BTreeMap;

use regex_lite::Regex;
use serde_json::Value;

use super::query::{Aggregate, Command, Expr, Malformed, Op, Query};

/// One log event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The log stream.
    pub stream: String,
    /// The text.
    pub message: String,
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A number.
    Num(f64),
    /// Text.
    Text(String),
    /// A truth value.
    Bool(bool),
}

impl Val {
    fn number(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Text(t) => t.trim().parse().ok(),
            Val::Bool(_) => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Bool(b) => *b,
            Val::Num(n) => *n != 0.0,
            Val::Text(t) => !t.is_empty(),
        }
    }

    /// As Logs Insights shows a value in `results` (always text).
    pub fn text(&self) -> String {
        match self {
            Val::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Val::Num(n) => n.to_string(),
            Val::Text(t) => t.clone(),
            Val::Bool(b) => b.to_string(),
        }
    }
}

type Fields = BTreeMap<String, Val>;

/// The discovered fields of one event in `log` (`account-id:log-group-name`).
fn discover(event: &Event, log: &str) -> Fields {
    let mut fields = Fields::new();
    fields.insert("@timestamp".into(), Val::Num(event.timestamp_ms as f64));
    fields.insert("@message".into(), Val::Text(event.message.clone()));
    fields.insert("@logStream".into(), Val::Text(event.stream.clone()));
    fields.insert("@log".into(), Val::Text(log.to_string()));
    let text = event.message.trim_end();
    if let Some(Value::Object(object)) = text
        .starts_with('{')
        .then(|| serde_json::from_str::<Value>(text).ok())
        .flatten()
    {
        flatten("", &Value::Object(object), &mut fields);
        return fields;
    }
    lambda_line(text, &mut fields);
    fields
}

/// A JSON value's keys, nested ones joined with dots.
fn flatten(prefix: &str, value: &Value, fields: &mut Fields) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, inner, fields);
            }
        }
        Value::Number(n) => {
            if let Some(n) = n.as_f64() {
                fields.insert(prefix.to_string(), Val::Num(n));
            }
        }
        Value::String(s) => {
            fields.insert(prefix.to_string(), Val::Text(s.clone()));
        }
        Value::Bool(b) => {
            fields.insert(prefix.to_string(), Val::Bool(*b));
        }
        Value::Null | Value::Array(_) => {}
    }
}

/// The fields of a Lambda text line (`START RequestId: …`, `REPORT RequestId: …\t…`).
fn lambda_line(text: &str, fields: &mut Fields) {
    let Some((kind, rest)) = text.split_once(" RequestId: ") else {
        return;
    };
    if !matches!(kind, "START" | "END" | "REPORT") {
        return;
    }
    fields.insert("@type".into(), Val::Text(kind.to_string()));
    let mut parts = rest.split('\t');
    let id = parts.next().unwrap_or_default();
    let id = id.split(' ').next().unwrap_or_default();
    fields.insert("@requestId".into(), Val::Text(id.to_string()));
    for part in parts {
        let Some((name, value)) = part.split_once(": ") else {
            continue;
        };
        let number = |unit: &str| value.strip_suffix(unit).and_then(|v| v.trim().parse().ok());
        let (field, value) = match name {
            "Duration" => ("@duration", number(" ms")),
            "Billed Duration" => ("@billedDuration", number(" ms")),
            "Init Duration" => ("@initDuration", number(" ms")),
            "Memory Size" => ("@memorySize", number(" MB").map(|mb: f64| mb * 1e6)),
            "Max Memory Used" => ("@maxMemoryUsed", number(" MB").map(|mb: f64| mb * 1e6)),
            _ => continue,
        };
        if let Some(value) = value {
            fields.insert(field.into(), Val::Num(value));
        }
    }
}

fn eval(expr: &Expr, fields: &Fields) -> Option<Val> {
    match expr {
        Expr::Field(name) => fields.get(name).cloned(),
        Expr::Number(n) => Some(Val::Num(*n)),
        Expr::Text(t) => Some(Val::Text(t.clone())),
        Expr::Not(inner) => Some(Val::Bool(!eval(inner, fields).is_some_and(|v| v.truthy()))),
        Expr::Negate(inner) => Some(Val::Num(-eval(inner, fields)?.number()?)),
        Expr::Coalesce(args) => args.iter().find_map(|a| eval(a, fields)),
        Expr::IsPresent(name) => Some(Val::Bool(fields.contains_key(name))),
        Expr::Binary(left, op, right) => binary(eval(left, fields), *op, eval(right, fields)),
    }
}

fn binary(left: Option<Val>, op: Op, right: Option<Val>) -> Option<Val> {
    let truth = |v: &Option<Val>| v.as_ref().is_some_and(Val::truthy);
    match op {
        Op::Or => return Some(Val::Bool(truth(&left) || truth(&right))),
        Op::And => return Some(Val::Bool(truth(&left) && truth(&right))),
        _ => {}
    }
    // A missing operand makes the expression missing (a comparison with it is false).
    let (left, right) = (left?, right?);
    let numbers = left.number().zip(right.number());
    let compare = |ordering: std::cmp::Ordering| -> Option<bool> {
        let order = match (&left, &right, numbers) {
            (_, _, Some((a, b))) => a.partial_cmp(&b)?,
            (Val::Text(a), Val::Text(b), None) => a.cmp(b),
            _ => return Some(false),
        };
        Some(order == ordering)
    };
    use std::cmp::Ordering::{Equal, Greater, Less};
    let value = match op {
        Op::Eq => Val::Bool(compare(Equal)?),
        Op::Ne => Val::Bool(!compare(Equal)?),
        Op::Lt => Val::Bool(compare(Less)?),
        Op::Gt => Val::Bool(compare(Greater)?),
        Op::Le => Val::Bool(!compare(Greater)?),
        Op::Ge => Val::Bool(!compare(Less)?),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem => {
            let (a, b) = numbers?;
            Val::Num(match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div if b != 0.0 => a / b,
                Op::Rem if b != 0.0 => a % b,
                _ => return None,
            })
        }
        Op::Or | Op::And => return None,
    };
    Some(value)
}

/// What a query answered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    /// Result rows: `(field, value as text)`.
    pub rows: Vec<Vec<(String, String)>>,
    /// Events in the time range.
    pub records_scanned: u64,
    /// Events that passed the filters.
    pub records_matched: u64,
    /// Bytes of the events in the time range (Logs Insights bills what it scans).
    pub bytes_scanned: u64,
}

/// Runs `query` over `events` of log group `log` (already limited to the time range).
pub fn run(query: &Query, events: &[Event], log: &str) -> Result<Answer, Malformed> {
    let mut rows: Vec<Fields> = events.iter().map(|e| discover(e, log)).collect();
    let mut answer = Answer {
        records_scanned: events.len() as u64,
        bytes_scanned: events.iter().map(|e| e.message.len() as u64).sum(),
        ..Answer::default()
    };
    let mut shown: Option<Vec<String>> = None;
    let mut aggregated = false;
    for command in &query.commands {
        match command {
            Command::Filter(expr) => {
                rows.retain(|f| eval(expr, f).is_some_and(|v| v.truthy()));
            }
            Command::Parse { field, pattern } => {
                let regex =
                    Regex::new(pattern).map_err(|e| Malformed(format!("bad regex: {e}")))?;
                for fields in &mut rows {
                    parse_into(&regex, field, fields);
                }
            }
            Command::Fields(items) => {
                for fields in &mut rows {
                    for (expr, name) in items {
                        match eval(expr, fields) {
                            Some(value) => fields.insert(name.clone(), value),
                            None => fields.remove(name),
                        };
                    }
                }
                shown = Some(items.iter().map(|(_, name)| name.clone()).collect());
            }
            Command::Stats(aggregates) => {
                answer.records_matched = rows.len() as u64;
                aggregated = true;
                rows = stats(aggregates, &rows).into_iter().collect();
                shown = Some(aggregates.iter().map(|(_, name)| name.clone()).collect());
            }
            Command::Limit(n) => rows.truncate(*n),
        }
    }
    if !aggregated {
        answer.records_matched = rows.len() as u64;
    }
    let shown = shown.unwrap_or_else(|| vec!["@timestamp".into(), "@message".into()]);
    answer.rows = rows
        .iter()
        .map(|fields| {
            // Only fields with a value are in a result row.
            shown
                .iter()
                .filter_map(|name| Some((name.clone(), fields.get(name)?.text())))
                .collect()
        })
        .collect();
    Ok(answer)
}

/// The named groups of the first match of `regex` in `field` become fields.
fn parse_into(regex: &Regex, field: &str, fields: &mut Fields) {
    let Some(Val::Text(text)) = fields.get(field).cloned() else {
        return;
    };
    let Some(captures) = regex.captures(&text) else {
        return;
    };
    for name in regex.capture_names().flatten() {
        if let Some(m) = captures.name(name) {
            fields.insert(name.to_string(), Val::Text(m.as_str().to_string()));
        }
    }
}

/// One row of aggregates; none when no event matched (Logs Insights returns no row then).
fn stats(aggregates: &[(Aggregate, String)], rows: &[Fields]) -> Option<Fields> {
    if rows.is_empty() {
        return None;
    }
    let mut out = Fields::new();
    for (aggregate, name) in aggregates {
        let values = |expr: &Expr| -> Vec<f64> {
            rows.iter()
                .filter_map(|f| eval(expr, f)?.number())
                .collect()
        };
        let value = match aggregate {
            Aggregate::CountAll => Some(rows.len() as f64),
            Aggregate::Count(expr) => {
                Some(rows.iter().filter(|f| eval(expr, f).is_some()).count() as f64)
            }
            Aggregate::Sum(expr) => {
                let v = values(expr);
                (!v.is_empty()).then(|| v.iter().sum())
            }
            Aggregate::Avg(expr) => {
                let v = values(expr);
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            }
            Aggregate::Min(expr) => values(expr).into_iter().reduce(f64::min),
            Aggregate::Max(expr) => values(expr).into_iter().reduce(f64::max),
        };
        // A sum or an average over no value is left out of the row.
        if let Some(value) = value {
            out.insert(name.clone(), Val::Num(value));
        }
    }
    Some(out)
}
