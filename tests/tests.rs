//! The one integration-test binary: the emulator through the real SDK, the five handler
//! binaries through the emulator, the stack's checks, end-to-end runs.

mod support;

mod cli_aws;
mod cli_emulator;
mod cli_local;
mod conformance;
mod docs;
mod e2e;
mod emulator;
mod faults;
mod handlers;
mod scripts;
mod stack;
mod structure;
mod traffic;
