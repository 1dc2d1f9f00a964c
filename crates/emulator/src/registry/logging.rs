//! A function's `LoggingConfig` (API reference, `LoggingConfig`; Lambda Developer Guide,
//! "Configuring JSON and plain text log formats" and "Log-level filtering").

use super::refusal::Refusal;

/// Log format of a function (`LoggingConfig.LogFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain text with a `REPORT` line.
    Text,
    /// Lambda's system records as JSON (`platform.start`, `platform.report`, ...); a custom
    /// runtime's own lines stay as it wrote them (Lambda Developer Guide, "Configuring JSON and
    /// plain text log formats": for runtimes without built-in JSON logging, Lambda captures
    /// only the system logs in JSON).
    Json,
}

impl LogFormat {
    /// Lambda's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "Text",
            LogFormat::Json => "JSON",
        }
    }

    /// Lambda's name, or `None` (API reference, `LoggingConfig`: `JSON | Text`).
    pub fn parse(value: &str) -> Option<LogFormat> {
        match value {
            "Text" => Some(LogFormat::Text),
            "JSON" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// A log level (Lambda Developer Guide, "Log-level filtering"): `TRACE` is the most detail,
/// `FATAL` the least. Lambda sends a record when its level is at or above the configured one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Most detail.
    Trace,
    /// System debugging.
    Debug,
    /// Normal operation (the default of both levels).
    Info,
    /// Potential errors.
    Warn,
    /// Problems.
    Error,
    /// Least detail.
    Fatal,
}

impl LogLevel {
    /// Lambda's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }

    /// A level by name, any case (Lambda reads `"level": "debug"` in an application record).
    pub fn parse(value: &str) -> Option<LogLevel> {
        Some(match value.to_ascii_uppercase().as_str() {
            "TRACE" => LogLevel::Trace,
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARN" | "WARNING" => LogLevel::Warn,
            "ERROR" => LogLevel::Error,
            "FATAL" => LogLevel::Fatal,
            _ => return None,
        })
    }

    /// Whether `SystemLogLevel` may be this (API reference, `LoggingConfig`:
    /// `DEBUG | INFO | WARN`).
    pub(super) fn is_system_level(self) -> bool {
        matches!(self, LogLevel::Debug | LogLevel::Info | LogLevel::Warn)
    }
}

/// A function's `LoggingConfig` (API reference, `LoggingConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    /// `LogFormat`.
    pub format: LogFormat,
    /// `ApplicationLogLevel` (JSON format only; INFO by default).
    pub application_level: LogLevel,
    /// `SystemLogLevel` (JSON format only; INFO by default).
    pub system_level: LogLevel,
    /// `LogGroup`; `None` is Lambda's default, `/aws/lambda/<function name>`.
    pub log_group: Option<String>,
}

impl Default for Logging {
    fn default() -> Self {
        Logging::text()
    }
}

impl Logging {
    /// Plain text (Lambda's default for every runtime).
    pub fn text() -> Logging {
        Logging {
            format: LogFormat::Text,
            application_level: LogLevel::Info,
            system_level: LogLevel::Info,
            log_group: None,
        }
    }

    /// JSON, both levels INFO.
    pub fn json() -> Logging {
        Logging {
            format: LogFormat::Json,
            ..Logging::text()
        }
    }

    /// JSON with `SystemLogLevel` `level`.
    pub fn json_with_system_level(level: LogLevel) -> Logging {
        Logging {
            system_level: level,
            ..Logging::json()
        }
    }

    /// The log group of function `name`.
    pub fn group_of(&self, name: &str) -> String {
        self.log_group
            .clone()
            .unwrap_or_else(|| format!("/aws/lambda/{name}"))
    }

    /// `LoggingConfig` as `GetFunctionConfiguration` returns it: the levels only with JSON.
    pub fn to_json(&self, name: &str) -> serde_json::Value {
        let mut config = serde_json::json!({
            "LogFormat": self.format.as_str(),
            "LogGroup": self.group_of(name),
        });
        if self.format == LogFormat::Json {
            config["ApplicationLogLevel"] = self.application_level.as_str().into();
            config["SystemLogLevel"] = self.system_level.as_str().into();
        }
        config
    }

    /// Applies a `LoggingConfig` of `CreateFunction` or `UpdateFunctionConfiguration`: fields
    /// not given keep their value; levels need the JSON format; switching to text clears them.
    pub fn apply(&self, change: &serde_json::Value) -> Result<Logging, Refusal> {
        let field = |name: &str| change.get(name).and_then(serde_json::Value::as_str);
        let invalid = |name: &str, value: &str, allowed: &str| {
            Refusal::Invalid(format!(
                "1 validation error detected: Value '{value}' at 'loggingConfig.{name}' failed to satisfy constraint: Member must satisfy enum value set: [{allowed}]"
            ))
        };
        let mut next = self.clone();
        if let Some(format) = field("LogFormat") {
            next.format = LogFormat::parse(format)
                .ok_or_else(|| invalid("logFormat", format, "JSON, Text"))?;
        }
        let application = field("ApplicationLogLevel")
            .map(|v| {
                LogLevel::parse(v)
                    .filter(|l| l.as_str() == v)
                    .ok_or_else(|| {
                        invalid(
                            "applicationLogLevel",
                            v,
                            "TRACE, DEBUG, INFO, WARN, ERROR, FATAL",
                        )
                    })
            })
            .transpose()?;
        let system = field("SystemLogLevel")
            .map(|v| {
                LogLevel::parse(v)
                    .filter(|l| l.as_str() == v && l.is_system_level())
                    .ok_or_else(|| invalid("systemLogLevel", v, "DEBUG, INFO, WARN"))
            })
            .transpose()?;
        if next.format == LogFormat::Text {
            // The service's answer to levels with plain text (quoted in aws-cdk PR #28045).
            if application.is_some() || system.is_some() {
                return Err(Refusal::Invalid(
                    "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"Json\" and try again.".to_string(),
                ));
            }
            next.application_level = LogLevel::Info;
            next.system_level = LogLevel::Info;
        }
        next.application_level = application.unwrap_or(next.application_level);
        next.system_level = system.unwrap_or(next.system_level);
        if let Some(group) = field("LogGroup") {
            let valid = (1..=512).contains(&group.len())
                && group
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
            if !valid {
                return Err(Refusal::Invalid(format!(
                    "1 validation error detected: Value '{group}' at 'loggingConfig.logGroup' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
                )));
            }
            next.log_group = Some(group.to_string());
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn logging_config_as_lambda_applies_it() {
        let text = Logging::text();
        // JSON: both levels default to INFO and are shown.
        let json = text.apply(&json!({"LogFormat": "JSON"})).expect("json");
        assert_eq!(json, Logging::json());
        assert_eq!(json.to_json("f")["SystemLogLevel"], "INFO");
        assert!(text.to_json("f").get("SystemLogLevel").is_none());
        // A level alone keeps the format.
        let warn = json
            .apply(&json!({"SystemLogLevel": "WARN"}))
            .expect("warn");
        assert_eq!(warn, Logging::json_with_system_level(LogLevel::Warn));
        // Back to text: the levels go.
        assert_eq!(
            warn.apply(&json!({"LogFormat": "Text"})).expect("text"),
            Logging::text()
        );
        // Levels with text, unknown values, a bad group: refused.
        for bad in [
            json!({"SystemLogLevel": "WARN"}),
            json!({"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"}),
        ] {
            assert!(
                matches!(text.apply(&bad), Err(Refusal::Invalid(m)) if m.starts_with("LogLevel is not supported when LogFormat is set to \"Text\""))
            );
        }
        for bad in [
            json!({"LogFormat": "json"}),
            json!({"LogFormat": "JSON", "SystemLogLevel": "ERROR"}),
            json!({"LogFormat": "JSON", "ApplicationLogLevel": "info"}),
            json!({"LogGroup": "bad group!"}),
        ] {
            assert!(
                matches!(text.apply(&bad), Err(Refusal::Invalid(_))),
                "{bad}"
            );
        }
        let grouped = text
            .apply(&json!({"LogGroup": "/shared/group"}))
            .expect("group");
        assert_eq!(grouped.group_of("f"), "/shared/group");
        assert_eq!(text.group_of("f"), "/aws/lambda/f");
        assert_eq!(LogLevel::parse("warning"), Some(LogLevel::Warn));
    }
}
