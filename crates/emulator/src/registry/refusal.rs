//! How Lambda refuses a control-plane operation.

/// Why Lambda refuses an operation, with its message; the API maps each to AWS's error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 404 `ResourceNotFoundException`.
    NotFound(String),
    /// 409 `ResourceConflictException`.
    Conflict(String),
    /// 400 `InvalidParameterValueException`.
    Invalid(String),
    /// 412 `PreconditionFailedException`.
    PreconditionFailed(String),
}

impl Refusal {
    /// `ResourceNotFoundException` for the function (or version) `arn`, as Lambda words it.
    pub fn function_not_found(arn: impl std::fmt::Display) -> Refusal {
        Refusal::NotFound(format!("Function not found: {arn}"))
    }
}
