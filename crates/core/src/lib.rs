//! power-tuning-core: the pure domain of power-tuning.
//!
//! Everything that decides lives here: input validation (SPEC §2), planning, payload generation,
//! REPORT log parsing, statistics and pricing, strategies, the visualization URL, the output
//! model, and the five handlers written against ports ([`ports::LambdaApi`],
//! [`ports::PayloadSource`], [`ports::Clock`]). No AWS SDK, no Lambda runtime, no I/O: the
//! `power-tuning-aws` crate implements the ports, the binaries wire them to the runtime.
//!
//! The `test-util` feature adds [`fake`], a stateful in-memory Lambda with a virtual clock.

pub mod analysis;
pub mod architecture;
pub mod arn;
pub mod confidence;
pub mod error;
pub mod event;
pub mod handlers;
pub mod iam;
pub mod input;
pub mod logs;
pub mod marker;
pub mod measurement;
pub mod output;
pub mod payload;
pub mod ports;
pub mod pricing;
pub mod resilient;
pub mod settings;
pub mod state;
pub mod stats;
pub mod strategy;
pub mod traffic;
pub mod update;
pub mod versions;
pub mod visualization;

#[cfg(any(test, feature = "test-util"))]
pub mod fake;

pub use error::HandlerError;
pub use event::HandlerEvent;
pub use handlers::Deps;
pub use settings::Settings;
