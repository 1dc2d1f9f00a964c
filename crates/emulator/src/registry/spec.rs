//! What a function is made of: its executable, settings and architecture (`FunctionSpec`, as
//! the emulator is started with, or `CreateFunction` asks for).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::logging::{LogFormat, LogLevel, Logging};

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
}
