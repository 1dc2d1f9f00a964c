//! The command's one error type, and its exit codes (README "Exit codes").

use std::path::PathBuf;
use std::process::ExitCode;

use power_tuning_core::HandlerError;
use power_tuning_emulator::EmulatorError;

use crate::execution::ExecutionError;
use crate::moto::MotoError;

/// How a command ends (a bad command line ends in clap with 2 before any of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Success,
    /// 1: the run failed, or an error.
    Failed,
    /// 3: a pipeline gate was violated.
    Gate,
    /// 130: interrupted by Ctrl-C or SIGTERM.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Gate => 3,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Everything that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The execution input, an argument or a file's content is invalid; nothing was started.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    File {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The handlers or an example cannot run (a missing binary, a Runtime API failure).
    #[error("{0}")]
    Build(String),
    /// The local Lambda emulator did not start.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// The local Step Functions engine did not start.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// A Step Functions call failed.
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    /// Another AWS call failed (CloudFormation, Lambda through the core's handlers).
    #[error(transparent)]
    Handler(#[from] HandlerError),
    /// An AWS call outside the handlers failed.
    #[error("{0}")]
    Aws(String),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl CliError {
    /// The exit code of this error.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Interrupted(_) => Exit::Interrupted,
            _ => Exit::Failed,
        }
    }

    /// A file error while reading `path`.
    pub fn read(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::File {
            action: "read",
            path,
            source,
        }
    }

    /// A file error while writing `path`.
    pub fn write(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::File {
            action: "write",
            path,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(
            [Exit::Success, Exit::Failed, Exit::Gate, Exit::Interrupted].map(Exit::code),
            [0, 1, 3, 130]
        );
        assert_eq!(CliError::Interrupted("x".into()).exit(), Exit::Interrupted);
        assert_eq!(CliError::Invalid("x".into()).exit(), Exit::Failed);
        let err = CliError::read("in.json")(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(err.to_string(), "cannot read in.json: entity not found");
    }
}
