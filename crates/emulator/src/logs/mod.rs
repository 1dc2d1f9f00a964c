//! The functions' CloudWatch Logs, as far as traffic from history reads them (SPEC §15): every
//! line an invocation writes is an event of the function's log group (`/aws/lambda/<name>` or
//! its `LoggingConfig.LogGroup`, created on the first invocation as Lambda does), in a log
//! stream per execution environment (Lambda Developer Guide, "Configuring CloudWatch log
//! groups": `YYYY/MM/DD/[<version>]<environment id>`, and `YYYY/MM/DD/<function>[<version>]
//! <environment id>` in a custom log group), and Logs Insights queries run over them
//! ([`query`], [`eval`]).
//!
//! Queries are asynchronous as in CloudWatch Logs (API reference, `GetQueryResults`: "If you
//! see a value of `Scheduled` or `Running` for the status, you can retry the operation later"):
//! the first `GetQueryResults` of a query says `Scheduled`, the second `Running`, the third
//! and later `Complete` with the results, so a client that reads results before `Complete` is
//! caught.

pub mod eval;
pub mod query;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::lock;
use eval::{Answer, Event};

/// Events kept per log group (the oldest go first): bounded memory for a long-running
/// emulator. At ~200 bytes an event, about 40 MB per group at most.
pub const MAX_EVENTS_PER_GROUP: usize = 200_000;
/// `GetQueryResults` calls before a query is `Complete`.
const POLLS_TO_COMPLETE: u32 = 2;

/// Why a Logs call is refused, with CloudWatch Logs' error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogsError {
    /// `ResourceNotFoundException`.
    #[error("{0}")]
    NotFound(String),
    /// `MalformedQueryException`.
    #[error("{0}")]
    Malformed(String),
    /// `InvalidParameterException`.
    #[error("{0}")]
    Invalid(String),
}

impl LogsError {
    /// CloudWatch Logs' error code.
    pub fn code(&self) -> &'static str {
        match self {
            LogsError::NotFound(_) => "ResourceNotFoundException",
            LogsError::Malformed(_) => "MalformedQueryException",
            LogsError::Invalid(_) => "InvalidParameterException",
        }
    }
}

/// A query's state.
#[derive(Debug, Clone)]
struct QueryState {
    answer: Answer,
    polls: u32,
    stopped: bool,
}

/// `GetQueryResults`' answer.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryProgress {
    /// `Scheduled`, `Running`, `Complete`, `Cancelled`.
    pub status: &'static str,
    /// The answer (rows only when `Complete`).
    pub answer: Answer,
}

/// Every log group of the emulated account, and the queries run on them.
#[derive(Debug, Default)]
pub struct LogStore {
    groups: Mutex<HashMap<String, VecDeque<Event>>>,
    queries: Mutex<HashMap<String, QueryState>>,
}

impl LogStore {
    /// Adds an invocation's log: one event per line, at `timestamp_ms`.
    pub fn append(&self, group: &str, stream: &str, timestamp_ms: i64, log: &str) {
        let mut groups = lock(&self.groups);
        let events = groups.entry(group.to_string()).or_default();
        for line in log.lines().filter(|l| !l.is_empty()) {
            if events.len() >= MAX_EVENTS_PER_GROUP {
                events.pop_front();
            }
            events.push_back(Event {
                timestamp_ms,
                stream: stream.to_string(),
                message: line.to_string(),
            });
        }
    }

    /// `StartQuery`: runs `text` over the events of `group` from `start` to `end` (seconds,
    /// both inclusive, as the API reference says) and returns the query id.
    pub fn start_query(
        &self,
        group: &str,
        start: i64,
        end: i64,
        text: &str,
        log: &str,
    ) -> Result<String, LogsError> {
        if end < start {
            return Err(LogsError::Invalid(
                "endTime must be greater than or equal to startTime".into(),
            ));
        }
        let query = query::parse(text).map_err(|e| LogsError::Malformed(e.to_string()))?;
        let events: Vec<Event> = {
            let groups = lock(&self.groups);
            let events = groups.get(group).ok_or_else(|| {
                LogsError::NotFound("The specified log group does not exist.".into())
            })?;
            let (from, to) = (start * 1000, end * 1000 + 999);
            events
                .iter()
                .filter(|e| (from..=to).contains(&e.timestamp_ms))
                .cloned()
                .collect()
        };
        let answer = eval::run(&query, &events, log).map_err(|e| LogsError::Malformed(e.0))?;
        let id = crate::ids::new_id();
        lock(&self.queries).insert(
            id.clone(),
            QueryState {
                answer,
                polls: 0,
                stopped: false,
            },
        );
        Ok(id)
    }

    /// `GetQueryResults`.
    pub fn results(&self, id: &str) -> Result<QueryProgress, LogsError> {
        let mut queries = lock(&self.queries);
        let state = queries
            .get_mut(id)
            .ok_or_else(|| LogsError::NotFound(format!("Query {id} does not exist")))?;
        state.polls += 1;
        let status = match state.polls {
            _ if state.stopped => "Cancelled",
            1 => "Scheduled",
            n if n <= POLLS_TO_COMPLETE => "Running",
            _ => "Complete",
        };
        let answer = if status == "Complete" {
            state.answer.clone()
        } else {
            Answer::default()
        };
        Ok(QueryProgress { status, answer })
    }

    /// `StopQuery`: only a query still running can be stopped.
    pub fn stop(&self, id: &str) -> Result<(), LogsError> {
        let mut queries = lock(&self.queries);
        let state = queries
            .get_mut(id)
            .ok_or_else(|| LogsError::NotFound(format!("Query {id} does not exist")))?;
        if state.stopped || state.polls > POLLS_TO_COMPLETE {
            return Err(LogsError::Invalid(format!("Query {id} is not running")));
        }
        state.stopped = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
