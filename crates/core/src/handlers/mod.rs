//! The five handlers, each `async fn handle(&Deps, &Invocation) -> Result<Output, HandlerError>`
//! over the ports.

pub mod analyzer;
pub mod cleaner;
pub mod executor;
pub mod initializer;
pub mod optimizer;

use std::time::Duration;

use crate::error::HandlerError;
use crate::event::HandlerEvent;
use crate::input::TuningInput;
use crate::marker::RunId;
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

/// One handler invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// What the state machine sent.
    pub event: HandlerEvent,
    /// When the Lambda invocation ends, as a [`Clock::now`](crate::ports::Clock::now) value
    /// (the binaries compute it from the runtime context).
    pub deadline: Duration,
    /// The Lambda request id: the run id's source when the state machine passed no execution id.
    pub request_id: String,
}

impl Invocation {
    /// The run id: from the execution id the state machine passes, else the request id.
    pub fn run_id(&self) -> RunId {
        RunId::derive(
            self.event
                .execution_id
                .as_deref()
                .unwrap_or(&self.request_id),
        )
    }
}

/// Calls on the targets use `assumeRoleARN`'s credentials from here on (SPEC §11); after the
/// input is validated, before any call on a target.
pub async fn use_role<L: crate::ports::LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    invocation: &Invocation,
) -> Result<(), HandlerError> {
    let role = input
        .assume_role_arn
        .as_ref()
        .map(|role_arn| crate::ports::AssumedRole {
            role_arn: role_arn.clone(),
            session_name: format!("power-tuning-{}", invocation.run_id()),
        });
    deps.lambda.use_role(role.as_ref()).await.map_err(|e| {
        HandlerError::lambda(
            format!(
                "Assuming role {}",
                input
                    .assume_role_arn
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            e,
        )
    })
}

/// Validates the event's state as an execution input.
pub fn input_of(event: &HandlerEvent, settings: &Settings) -> Result<TuningInput, HandlerError> {
    Ok(TuningInput::from_state(
        &event.state,
        &settings.default_power_values,
    )?)
}

#[cfg(test)]
mod tests;
