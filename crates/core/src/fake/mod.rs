//! A stateful in-memory Lambda and a virtual clock, for tests (feature `test-util`).
//!
//! [`FakeLambda`] keeps functions with `$LATEST`, versions, aliases and warm environments;
//! updates stay `InProgress` for a configurable virtual delay; errors can be injected per
//! operation; every call is logged with its virtual time. [`FakeClock`] advances instantly when
//! slept on, so multi-second waits and backoffs cost no real time.
//!
//! The modules, each using only those before it: `clock` and `model` (what tests see of calls
//! and functions), `state` (the inner state and Lambda's rules on it), `lambda` (the fake, its
//! setup and the prologue of every call), `log` (an invocation's log), `invoke` (the invoke
//! path), `api` (the [`LambdaApi`](crate::ports::LambdaApi) operations) and `payloads` (S3).

mod api;
mod clock;
mod invoke;
mod lambda;
mod log;
mod model;
mod payloads;
mod state;

pub use clock::{FAKE_EPOCH_SECONDS, FakeClock, YieldNow, yield_now};
pub use lambda::FakeLambda;
pub use model::{Behavior, Call, FakeInvocation, FakeLogFormat, FakeOutcome, Op, cpu_bound};
pub use payloads::FakePayloads;
