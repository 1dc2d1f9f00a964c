//! Functions, versions and aliases: the emulated control-plane state.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// Instruction set of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// x86_64.
    X86_64,
    /// arm64.
    Arm64,
}

impl Architecture {
    /// Lambda's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

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
    fn is_system_level(self) -> bool {
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

/// A function to serve: any executable speaking the Runtime API.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    /// Function name.
    pub name: String,
    /// Executable (a `bootstrap`, a script, ...).
    pub path: PathBuf,
    /// Arguments the executable is started with (none for a `bootstrap`).
    pub args: Vec<String>,
    /// Memory size (MB).
    pub memory: u32,
    /// Timeout (s).
    pub timeout: u32,
    /// Architecture reported (the host's binary runs either way).
    pub architecture: Architecture,
    /// `LoggingConfig`.
    pub logging: Logging,
    /// Description.
    pub description: String,
    /// Environment variables of the function.
    pub environment: BTreeMap<String, String>,
}

impl FunctionSpec {
    /// A function with Lambda's defaults (128 MB, 3 s, x86_64, text logs).
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        FunctionSpec {
            name: name.into(),
            path: path.into(),
            args: Vec::new(),
            memory: 128,
            timeout: 3,
            architecture: Architecture::X86_64,
            logging: Logging::text(),
            description: String::new(),
            environment: BTreeMap::new(),
        }
    }

    /// Parses `NAME=PATH[,memory=MB][,timeout=S][,arch=x86_64|arm64][,log-format=text|json][,system-log-level=debug|info|warn][,description=TEXT][,env=K=V]`.
    /// A description may contain commas only as its last option.
    pub fn parse(arg: &str) -> Result<FunctionSpec, String> {
        let (name, rest) = arg
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=PATH[,options], got {arg:?}"))?;
        if !valid_name(name) {
            return Err(format!(
                "invalid function name {name:?} (1-64 letters, digits, - or _)"
            ));
        }
        let mut parts = rest.split(',');
        let path = parts.next().unwrap_or_default();
        if path.is_empty() {
            return Err(format!("missing executable path for function {name}"));
        }
        let mut spec = FunctionSpec::new(name, path);
        let options: Vec<&str> = parts.collect();
        let mut i = 0;
        while i < options.len() {
            let option = options[i];
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| format!("expected KEY=VALUE in {option:?}"))?;
            match key {
                "memory" => {
                    spec.memory = value
                        .parse()
                        .ok()
                        .filter(|m| (128..=10240).contains(m))
                        .ok_or_else(|| format!("memory must be 128..10240 MB, got {value:?}"))?;
                }
                "timeout" => {
                    spec.timeout = value
                        .parse()
                        .ok()
                        .filter(|t| (1..=900).contains(t))
                        .ok_or_else(|| format!("timeout must be 1..900 s, got {value:?}"))?;
                }
                "arch" => {
                    spec.architecture = match value {
                        "x86_64" => Architecture::X86_64,
                        "arm64" => Architecture::Arm64,
                        _ => return Err(format!("arch must be x86_64 or arm64, got {value:?}")),
                    };
                }
                "log-format" => {
                    spec.logging.format = match value.to_ascii_lowercase().as_str() {
                        "text" => LogFormat::Text,
                        "json" => LogFormat::Json,
                        _ => return Err(format!("log-format must be text or json, got {value:?}")),
                    };
                }
                "system-log-level" => {
                    spec.logging.system_level = LogLevel::parse(value)
                        .filter(|l| l.is_system_level())
                        .ok_or_else(|| {
                            format!("system-log-level must be debug, info or warn, got {value:?}")
                        })?;
                }
                "env" => {
                    let (k, v) = value
                        .split_once('=')
                        .ok_or_else(|| format!("env must be K=V, got {value:?}"))?;
                    spec.environment.insert(k.to_string(), v.to_string());
                }
                "description" => {
                    spec.description = options[i..].join(",")["description=".len()..].to_string();
                    break;
                }
                _ => return Err(format!("unknown function option {key:?}")),
            }
            i += 1;
        }
        Ok(spec)
    }
}

/// Lambda function names.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A published (or `$LATEST`) configuration: what an execution environment runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Memory size (MB).
    pub memory: u32,
    /// Timeout (s).
    pub timeout: u32,
    /// Description.
    pub description: String,
    /// Architecture.
    pub architecture: Architecture,
    /// `LoggingConfig`.
    pub logging: Logging,
    /// Executable.
    pub path: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
}

impl Snapshot {
    /// Whether two configurations would publish the same version (code and settings).
    pub fn same_as(&self, other: &Snapshot) -> bool {
        self == other
    }
}

/// An alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// The version it points at.
    pub version: u64,
    /// Description.
    pub description: String,
    /// Revision id.
    pub revision: String,
}

/// Why Lambda refuses an operation, with its message; the API maps each to AWS's error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 404 `ResourceNotFoundException`.
    NotFound(String),
    /// 409 `ResourceConflictException`.
    Conflict(String),
    /// 400 `InvalidParameterValueException`.
    Invalid(String),
    /// 412 `PreconditionFailedException`.
    PreconditionFailed(String),
}

/// A change of `$LATEST`'s configuration (`UpdateFunctionConfiguration`); `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigChange {
    /// `MemorySize`, as sent.
    pub memory: Option<serde_json::Value>,
    /// `Timeout`, as sent.
    pub timeout: Option<serde_json::Value>,
    /// `Description`, as sent.
    pub description: Option<serde_json::Value>,
    /// `Environment.Variables`.
    pub environment: Option<BTreeMap<String, String>>,
    /// `LoggingConfig`, as sent.
    pub logging: Option<serde_json::Value>,
    /// `RevisionId`: apply only to `$LATEST` at this revision.
    pub revision: Option<String>,
}

/// One function's state, with Lambda's rules for changing it.
#[derive(Debug, Clone)]
pub struct Function {
    /// Name.
    pub name: String,
    /// Unqualified ARN.
    pub arn: String,
    /// `$LATEST`.
    pub latest: Snapshot,
    /// Bumped by every configuration update (new environments afterwards).
    pub latest_revision: u64,
    /// `$LATEST` is `InProgress` until then.
    pub update_done_at: Instant,
    /// When `$LATEST` last changed.
    pub last_modified: SystemTime,
    /// Published versions.
    pub versions: BTreeMap<u64, (Snapshot, SystemTime)>,
    /// Next version number (never reused).
    pub next_version: u64,
    /// Aliases.
    pub aliases: BTreeMap<String, Alias>,
    /// Revision id of `$LATEST`.
    pub revision_id: String,
    /// Why the last update failed (`LastUpdateStatus: Failed`), when it did.
    pub update_failure: Option<String>,
}

impl Function {
    /// A new function from its spec, at `arn`.
    pub fn new(spec: &FunctionSpec, arn: String) -> Function {
        Function {
            name: spec.name.clone(),
            arn,
            latest: Snapshot {
                memory: spec.memory,
                timeout: spec.timeout,
                description: spec.description.clone(),
                architecture: spec.architecture,
                logging: spec.logging.clone(),
                path: spec.path.clone(),
                args: spec.args.clone(),
                environment: spec.environment.clone(),
            },
            latest_revision: 0,
            update_done_at: Instant::now(),
            last_modified: SystemTime::now(),
            versions: BTreeMap::new(),
            next_version: 1,
            aliases: BTreeMap::new(),
            revision_id: new_id(),
            update_failure: None,
        }
    }

    /// The ARN with a qualifier.
    pub fn qualified_arn(&self, qualifier: &str) -> String {
        format!("{}:{qualifier}", self.arn)
    }

    /// Whether an update is being applied.
    pub fn updating(&self) -> bool {
        Instant::now() < self.update_done_at
    }

    /// Lambda's rule: nothing changes `$LATEST` or publishes while an update is in progress.
    fn ensure_idle(&self) -> Result<(), Refusal> {
        if self.updating() {
            return Err(Refusal::Conflict(format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {}",
                self.arn
            )));
        }
        Ok(())
    }

    /// Lambda's optimistic concurrency: a `RevisionId` given must be `$LATEST`'s.
    fn ensure_revision(&self, revision: Option<&str>) -> Result<(), Refusal> {
        match revision {
            Some(r) if r != self.revision_id => Err(Refusal::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".to_string(),
            )),
            _ => Ok(()),
        }
    }

    /// `UpdateFunctionConfiguration`: validates every field (memory 128..10240 MB, timeout
    /// 1..900 s, description ≤ 256 characters), then applies it; `$LATEST` stays `InProgress`
    /// for `delay`.
    pub fn update(&mut self, change: &ConfigChange, delay: Duration) -> Result<(), Refusal> {
        self.ensure_idle()?;
        self.ensure_revision(change.revision.as_deref())?;
        let mut next = self.latest.clone();
        if let Some(memory) = &change.memory {
            next.memory = memory
                .as_u64()
                .filter(|m| (128..=10240).contains(m))
                .ok_or_else(|| Refusal::Invalid(format!(
                    "1 validation error detected: Value '{memory}' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240"
                )))? as u32;
        }
        if let Some(timeout) = &change.timeout {
            next.timeout = timeout
                .as_u64()
                .filter(|t| (1..=900).contains(t))
                .ok_or_else(|| Refusal::Invalid(format!(
                    "1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900"
                )))? as u32;
        }
        if let Some(description) = &change.description {
            next.description = description
                .as_str()
                .filter(|d| d.chars().count() <= 256)
                .ok_or_else(|| Refusal::Invalid(
                    "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256".to_string(),
                ))?
                .to_string();
        }
        if let Some(environment) = &change.environment {
            next.environment = environment.clone();
        }
        if let Some(logging) = &change.logging {
            next.logging = next.logging.apply(logging)?;
        }
        self.latest = next;
        self.latest_revision += 1;
        self.last_modified = SystemTime::now();
        self.revision_id = new_id();
        self.update_done_at = Instant::now() + delay;
        self.update_failure = None;
        Ok(())
    }

    /// `PublishVersion`: a new version of `$LATEST` — or, as on AWS, the last version again
    /// when nothing changed since it was published.
    pub fn publish(
        &mut self,
        description: Option<&str>,
        revision: Option<&str>,
    ) -> Result<u64, Refusal> {
        self.ensure_idle()?;
        self.ensure_revision(revision)?;
        let mut snapshot = self.latest.clone();
        if let Some(description) = description {
            snapshot.description = description.to_string();
        }
        Ok(match self.versions.iter().next_back() {
            Some((n, (last, _))) if last.same_as(&snapshot) => *n,
            _ => {
                let n = self.next_version;
                self.next_version += 1;
                self.versions.insert(n, (snapshot, SystemTime::now()));
                n
            }
        })
    }

    /// A version number that exists, else `ResourceNotFoundException`.
    fn existing_version(&self, version: &str) -> Result<u64, Refusal> {
        version
            .parse::<u64>()
            .ok()
            .filter(|n| self.versions.contains_key(n))
            .ok_or_else(|| {
                Refusal::NotFound(format!(
                    "Function not found: {}",
                    self.qualified_arn(version)
                ))
            })
    }

    /// `DeleteFunction` of a version: never `$LATEST`, never a version an alias points at.
    pub fn delete_version(&mut self, qualifier: &str) -> Result<u64, Refusal> {
        if qualifier == "$LATEST" {
            return Err(Refusal::Invalid(
                "$LATEST version cannot be deleted without deleting the function.".to_string(),
            ));
        }
        if qualifier.parse::<u64>().is_err() {
            return Err(Refusal::Invalid(format!(
                "Deletion of aliases is not supported by DeleteFunction: {qualifier}"
            )));
        }
        let number = self.existing_version(qualifier)?;
        let users: Vec<&str> = self
            .aliases
            .iter()
            .filter(|(_, a)| a.version == number)
            .map(|(n, _)| n.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Refusal::Conflict(format!(
                "Unable to delete version because the following aliases reference it: [{}]",
                users.join(", ")
            )));
        }
        self.versions.remove(&number);
        Ok(number)
    }

    /// An alias, else `ResourceNotFoundException`.
    pub fn alias(&self, name: &str) -> Result<&Alias, Refusal> {
        self.aliases.get(name).ok_or_else(|| {
            Refusal::NotFound(format!("Alias not found: {}", self.qualified_arn(name)))
        })
    }

    /// `CreateAlias`: a new name, pointing at an existing version.
    pub fn create_alias(
        &mut self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<Alias, Refusal> {
        if self.aliases.contains_key(name) {
            return Err(Refusal::Conflict(format!(
                "Alias already exists: {}",
                self.qualified_arn(name)
            )));
        }
        let alias = Alias {
            version: self.existing_version(version)?,
            description: description.to_string(),
            revision: new_id(),
        };
        self.aliases.insert(name.to_string(), alias.clone());
        Ok(alias)
    }

    /// `UpdateAlias`: an existing alias, pointing at an existing version.
    pub fn update_alias(
        &mut self,
        name: &str,
        version: Option<&str>,
        description: Option<&str>,
    ) -> Result<Alias, Refusal> {
        let version = version.map(|v| self.existing_version(v)).transpose()?;
        self.alias(name)?;
        let record = self
            .aliases
            .get_mut(name)
            .ok_or_else(|| Refusal::NotFound(format!("Alias not found: {name}")))?;
        if let Some(n) = version {
            record.version = n;
        }
        if let Some(d) = description {
            record.description = d.to_string();
        }
        record.revision = new_id();
        Ok(record.clone())
    }

    /// Resolves a qualifier (`None`, `$LATEST`, a version number or an alias).
    pub fn resolve(&self, qualifier: Option<&str>) -> Option<Resolved> {
        match qualifier {
            None | Some("$LATEST") => Some(Resolved {
                version: "$LATEST".to_string(),
                snapshot: self.latest.clone(),
                environment_key: format!("{}:$LATEST#{}", self.name, self.latest_revision),
            }),
            Some(q) => {
                let number = match q.parse::<u64>() {
                    Ok(n) => n,
                    Err(_) => self.aliases.get(q)?.version,
                };
                let (snapshot, _) = self.versions.get(&number)?;
                Some(Resolved {
                    version: number.to_string(),
                    snapshot: snapshot.clone(),
                    environment_key: format!("{}:{number}", self.name),
                })
            }
        }
    }
}

/// A resolved qualifier.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `$LATEST` or the version number.
    pub version: String,
    /// Its configuration.
    pub snapshot: Snapshot,
    /// Environments are reused only for the same key.
    pub environment_key: String,
}

/// All functions.
#[derive(Debug, Default)]
pub struct Registry {
    /// By name.
    pub functions: BTreeMap<String, Function>,
}

/// A random id in UUID format.
pub fn new_id() -> String {
    let mut rng = fastrand::Rng::new();
    let hex: String = (0..32)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Splits a `FunctionName` parameter: a name, `name:qualifier`, a full or partial ARN.
pub fn split_function_name(raw: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] => (name.to_string(), None),
        ["arn", _, "lambda", _, _, "function", name, q] => (name.to_string(), Some(q.to_string())),
        [_account, "function", name] => (name.to_string(), None),
        [_account, "function", name, q] => (name.to_string(), Some(q.to_string())),
        [name, q] => (name.to_string(), Some(q.to_string())),
        _ => (raw.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_function_specs() {
        let spec = FunctionSpec::parse("cpu=/bin/cpu,memory=512,timeout=10,arch=arm64,log-format=json,system-log-level=warn,env=A=1,description=hello, world").expect("valid");
        assert_eq!(spec.name, "cpu");
        assert_eq!(spec.path, PathBuf::from("/bin/cpu"));
        assert_eq!((spec.memory, spec.timeout), (512, 10));
        assert_eq!(spec.architecture, Architecture::Arm64);
        assert_eq!(
            spec.logging,
            Logging::json_with_system_level(LogLevel::Warn)
        );
        assert_eq!(spec.environment.get("A").map(String::as_str), Some("1"));
        assert_eq!(spec.description, "hello, world");
        assert_eq!(
            FunctionSpec::parse("f=./x").expect("defaults"),
            FunctionSpec::new("f", "./x")
        );
        assert!(FunctionSpec::parse("f=./x,memory=64").is_err());
        assert!(FunctionSpec::parse("f").is_err());
        assert!(FunctionSpec::parse("bad name=./x").is_err());
        assert!(FunctionSpec::parse("f=./x,colour=red").is_err());
        assert!(FunctionSpec::parse("f=./x,system-log-level=error").is_err());
    }

    fn function() -> Function {
        Function::new(
            &FunctionSpec::new("f", "/bin/true"),
            "arn:aws:lambda:us-east-1:123456789012:function:f".to_string(),
        )
    }

    #[test]
    fn lambdas_rules_on_the_model() {
        let mut f = function();
        // An update is in progress: no second update, no publish.
        let change = ConfigChange {
            memory: Some(serde_json::json!(512)),
            ..ConfigChange::default()
        };
        f.update(&change, Duration::from_secs(60)).expect("update");
        assert_eq!(f.latest.memory, 512);
        assert!(matches!(
            f.update(&change, Duration::ZERO),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(f.publish(None, None), Err(Refusal::Conflict(_))));
        f.update_done_at = Instant::now();
        // Validation before any change.
        let bad = ConfigChange {
            memory: Some(serde_json::json!(64)),
            description: Some(serde_json::json!("x")),
            ..ConfigChange::default()
        };
        assert!(
            matches!(f.update(&bad, Duration::ZERO), Err(Refusal::Invalid(m)) if m.contains("memorySize"))
        );
        assert_eq!((f.latest.memory, f.latest.description.as_str()), (512, ""));
        // Publishing twice without a change returns the same version.
        let v1 = f.publish(None, None).expect("publish");
        assert_eq!(f.publish(None, None).expect("again"), v1);
        // Optimistic concurrency.
        assert!(matches!(
            f.publish(None, Some("stale")),
            Err(Refusal::PreconditionFailed(_))
        ));
        let current = f.revision_id.clone();
        assert_eq!(f.publish(None, Some(&current)).expect("current"), v1);
        // Alias-protected versions.
        f.create_alias("live", &v1.to_string(), "").expect("alias");
        assert!(matches!(
            f.create_alias("live", "1", ""),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(f.delete_version("1"), Err(Refusal::Conflict(m)) if m.contains("[live]")));
        assert!(matches!(
            f.delete_version("$LATEST"),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(f.delete_version("9"), Err(Refusal::NotFound(_))));
        assert!(matches!(
            f.update_alias("live", Some("9"), None),
            Err(Refusal::NotFound(_))
        ));
        assert!(
            matches!(f.alias("dev"), Err(Refusal::NotFound(m)) if m == "Alias not found: arn:aws:lambda:us-east-1:123456789012:function:f:dev")
        );
    }

    #[test]
    fn function_names_in_every_form() {
        assert_eq!(split_function_name("f"), ("f".into(), None));
        assert_eq!(split_function_name("f:3"), ("f".into(), Some("3".into())));
        assert_eq!(
            split_function_name("arn:aws-cn:lambda:cn-north-1:123456789012:function:f"),
            ("f".into(), None)
        );
        assert_eq!(
            split_function_name("arn:aws:lambda:eu-west-1:123456789012:function:f:live"),
            ("f".into(), Some("live".into()))
        );
        assert_eq!(
            split_function_name("123456789012:function:f"),
            ("f".into(), None)
        );
    }
}
