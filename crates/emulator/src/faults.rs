//! Fault injection (tests and benchmarks): bounded, one-shot or counted rules the service
//! consults on every call. Each rule is consumed as it fires, so a run can never loop on one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One fault to inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Fault {
    /// The next `count` calls matching `operation` (e.g. `Invoke`, `PublishVersion`; any when
    /// absent) on `function` (any when absent) answer HTTP `status`: 429 is a
    /// `TooManyRequestsException`, another status the error `code` (`ServiceException` when
    /// absent), such as Lambda's permanent `KMSDisabledException` (502) of the API reference's
    /// `Invoke` errors.
    #[serde(rename_all = "camelCase")]
    Errors {
        /// Operation name, as in the call log.
        #[serde(default)]
        operation: Option<String>,
        /// Function name.
        #[serde(default)]
        function: Option<String>,
        /// HTTP status to answer.
        status: u16,
        /// The error code (`x-amzn-ErrorType`).
        #[serde(default)]
        code: Option<String>,
        /// How many calls.
        count: u32,
    },
    /// The next update of `function` stays `InProgress` for `seconds` (instead of the update
    /// delay).
    #[serde(rename_all = "camelCase")]
    StuckUpdate {
        /// Function name.
        function: String,
        /// How long.
        seconds: f64,
    },
    /// The next update of `function` ends with `LastUpdateStatus: Failed` and `reason`.
    #[serde(rename_all = "camelCase")]
    FailedUpdate {
        /// Function name.
        function: String,
        /// `LastUpdateStatusReason`.
        reason: String,
    },
    /// The `nth` invocation of `function` from now (1-based) has its environment killed
    /// `after_ms` into the invocation (`Runtime.ExitError`).
    #[serde(rename_all = "camelCase")]
    KillEnvironment {
        /// Function name.
        function: String,
        /// Which invocation.
        nth: u32,
        /// When, into the invocation.
        after_ms: u64,
    },
    /// STS `AssumeRole` of `role` is refused (`AccessDenied`).
    #[serde(rename_all = "camelCase")]
    DenyAssumeRole {
        /// The role ARN.
        role: String,
    },
    /// `function` is deleted (all its versions too) once it has been invoked `invocations`
    /// more times.
    #[serde(rename_all = "camelCase")]
    DeleteFunction {
        /// Function name.
        function: String,
        /// After how many invocations.
        invocations: u32,
    },
}

/// What the faults decide for an update.
#[derive(Debug, Default, PartialEq)]
pub struct UpdateFault {
    /// Stay `InProgress` this long instead of the update delay.
    pub stuck: Option<Duration>,
    /// End `Failed` with this reason.
    pub failed: Option<String>,
}

/// What the faults decide for an invocation.
#[derive(Debug, Default, PartialEq)]
pub struct InvokeFault {
    /// Kill the environment this long into the invocation.
    pub kill_after: Option<Duration>,
    /// Delete the function once this invocation is done.
    pub delete_after: bool,
}

/// The rules in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
}

impl Faults {
    /// Adds a rule.
    pub fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    /// The status an `operation` on `function` must answer with, if an `Errors` rule fires.
    pub fn error_status(
        &mut self,
        operation: &str,
        function: &str,
    ) -> Option<(u16, Option<String>)> {
        let rule = self.rules.iter_mut().find(|r| {
            matches!(r, Fault::Errors { operation: o, function: f, count, .. }
                if *count > 0
                    && o.as_deref().is_none_or(|o| o == operation)
                    && f.as_deref().is_none_or(|f| f == function))
        })?;
        match rule {
            Fault::Errors {
                status,
                count,
                code,
                ..
            } => {
                *count -= 1;
                Some((*status, code.clone()))
            }
            _ => None,
        }
    }

    /// Whether assuming `role` is refused (the rule stays).
    pub fn denies_role(&self, role: &str) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r, Fault::DenyAssumeRole { role: denied } if denied == role))
    }

    /// Consumes the update rules of `function`.
    pub fn update(&mut self, function: &str) -> UpdateFault {
        let mut out = UpdateFault::default();
        self.rules.retain(|rule| match rule {
            Fault::StuckUpdate {
                function: f,
                seconds,
            } if f == function && out.stuck.is_none() => {
                out.stuck = Some(Duration::from_secs_f64(seconds.max(0.0)));
                false
            }
            Fault::FailedUpdate {
                function: f,
                reason,
            } if f == function && out.failed.is_none() => {
                out.failed = Some(reason.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// Counts an invocation of `function` against the rules that wait for it.
    pub fn invoke(&mut self, function: &str) -> InvokeFault {
        let mut out = InvokeFault::default();
        self.rules.retain_mut(|rule| match rule {
            Fault::KillEnvironment {
                function: f,
                nth,
                after_ms,
            } if f == function => {
                *nth = nth.saturating_sub(1);
                if *nth == 0 {
                    out.kill_after = Some(Duration::from_millis(*after_ms));
                    return false;
                }
                true
            }
            Fault::DeleteFunction {
                function: f,
                invocations,
            } if f == function => {
                *invocations = invocations.saturating_sub(1);
                if *invocations == 0 {
                    out.delete_after = true;
                    return false;
                }
                true
            }
            _ => true,
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_as_counted_and_are_consumed() {
        let mut faults = Faults::default();
        faults.add(Fault::Errors {
            operation: Some("PublishVersion".into()),
            function: None,
            status: 503,
            code: None,
            count: 2,
        });
        assert_eq!(faults.error_status("Invoke", "f"), None);
        assert_eq!(
            faults.error_status("PublishVersion", "f"),
            Some((503, None))
        );
        assert_eq!(
            faults.error_status("PublishVersion", "g"),
            Some((503, None))
        );
        assert_eq!(faults.error_status("PublishVersion", "f"), None);

        faults.add(Fault::KillEnvironment {
            function: "f".into(),
            nth: 2,
            after_ms: 50,
        });
        faults.add(Fault::DeleteFunction {
            function: "f".into(),
            invocations: 3,
        });
        assert_eq!(faults.invoke("f"), InvokeFault::default());
        assert_eq!(
            faults.invoke("f"),
            InvokeFault {
                kill_after: Some(Duration::from_millis(50)),
                delete_after: false
            }
        );
        assert_eq!(
            faults.invoke("f"),
            InvokeFault {
                kill_after: None,
                delete_after: true
            }
        );
        assert_eq!(faults.invoke("f"), InvokeFault::default());

        faults.add(Fault::FailedUpdate {
            function: "f".into(),
            reason: "no".into(),
        });
        assert_eq!(faults.update("g"), UpdateFault::default());
        assert_eq!(faults.update("f").failed.as_deref(), Some("no"));
        assert_eq!(faults.update("f"), UpdateFault::default());
        let parsed: Fault =
            serde_json::from_str(r#"{"kind": "stuckUpdate", "function": "f", "seconds": 2.5}"#)
                .expect("json");
        assert_eq!(
            parsed,
            Fault::StuckUpdate {
                function: "f".into(),
                seconds: 2.5
            }
        );
    }
}
