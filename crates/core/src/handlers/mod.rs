//! The five handlers, each `handle(deps, event, deadline)` over the ports.
//!
//! `deadline` is a [`Clock::now`](crate::ports::Clock::now) value: when the Lambda invocation
//! ends. The binaries compute it from the runtime context.

pub mod analyzer;
pub mod cleaner;
pub mod executor;
pub mod initializer;
pub mod optimizer;

use crate::error::HandlerError;
use crate::event::HandlerEvent;
use crate::input::TuningInput;
use crate::settings::Settings;

/// What a handler runs against.
pub struct Deps<L, P, C> {
    /// The Lambda API.
    pub lambda: L,
    /// Where `payloadS3` objects come from.
    pub payloads: P,
    /// Time.
    pub clock: C,
    /// Environment configuration.
    pub settings: Settings,
}

/// Validates the event's state as an execution input.
pub fn input_of(event: &HandlerEvent, settings: &Settings) -> Result<TuningInput, HandlerError> {
    TuningInput::from_state(&event.state, &settings.default_power_values)
        .map_err(HandlerError::InvalidInput)
}

#[cfg(test)]
mod tests;
