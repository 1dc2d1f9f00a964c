//! One module per subcommand; each exports its clap `Args` with an async `run`. Commands use
//! the shared modules of the crate, never each other.

pub mod cleanup;
pub mod emulator;
pub mod local;
pub mod report;
pub mod run;
pub mod serve;
pub mod traffic;
