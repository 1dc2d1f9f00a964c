//! The one log subscriber of the command: warnings by default (core's retry warnings, the
//! cleaner's kept versions, the emulator's cgroup fallback), more with `-v` (info) and `-vv`
//! (debug); `RUST_LOG` chooses when no `-v` is given. Logs go to stderr, so `--json` output on
//! stdout stays clean.

use tracing_subscriber::EnvFilter;

/// The filter for a `-v` count and an optional `RUST_LOG` value.
pub fn filter(verbose: u8, rust_log: Option<&str>) -> EnvFilter {
    let level = match verbose {
        0 => None,
        1 => Some("info"),
        _ => Some("debug"),
    };
    match (level, rust_log) {
        (Some(level), _) => EnvFilter::new(level),
        (None, Some(directives)) => {
            EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("warn"))
        }
        (None, None) => EnvFilter::new("warn"),
    }
}

/// Installs the subscriber (once per process; later calls are ignored).
pub fn init(verbose: u8) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(verbose, rust_log.as_deref()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_chooses_the_level() {
        assert_eq!(filter(0, None).to_string(), "warn");
        assert_eq!(filter(1, None).to_string(), "info");
        assert_eq!(filter(2, Some("error")).to_string(), "debug");
        assert_eq!(filter(0, Some("error")).to_string(), "error");
        assert_eq!(filter(0, Some("=[")).to_string(), "warn");
    }
}
