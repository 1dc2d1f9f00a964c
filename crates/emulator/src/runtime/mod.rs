//! Execution environments: the pool ([`pool`]), one invocation in one environment
//! ([`invocation`]), and the Runtime API each environment serves its process ([`runtime_api`]).

mod environment;
mod invocation;
mod pool;
mod runtime_api;

pub use invocation::{InvocationResult, Sink};
pub use pool::{Environments, HostSettings};
