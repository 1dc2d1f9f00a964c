//! The Lambda actions each handler calls: the one table the SAM template's least-privilege
//! policies are checked against (tests/stack.rs), and that the handlers' observed calls are
//! checked against (handlers tests, on the fake).

/// `(binary, Lambda actions on lambdaResource)`.
pub const HANDLER_LAMBDA_ACTIONS: [(&str, &[&str]); 5] = [
    (
        "initializer",
        &[
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion",
            // Rollback on error (shared with the Cleaner).
            "lambda:ListVersionsByFunction",
            "lambda:DeleteFunction",
            // Concurrency read up front (SPEC §14).
            "lambda:GetFunctionConcurrency",
            "lambda:GetAccountSettings",
        ],
    ),
    ("executor", &["lambda:InvokeFunction"]),
    (
        "cleaner",
        &[
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            "lambda:ListVersionsByFunction",
            "lambda:DeleteFunction",
        ],
    ),
    ("analyzer", &[]),
    (
        "optimizer",
        &[
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion",
            "lambda:GetAlias",
            "lambda:CreateAlias",
            "lambda:UpdateAlias",
        ],
    ),
];

/// The actions of the table that act on the account, not on a function: IAM grants them on
/// `Resource: "*"` only (Lambda's service authorization reference lists no resource type for
/// `GetAccountSettings`).
pub const ACCOUNT_ACTIONS: [&str; 1] = ["lambda:GetAccountSettings"];

/// The handlers that call the targets, and so assume `assumeRoleARN` (SPEC §11): the template
/// grants them `sts:AssumeRole` on `assumableRoleARNs`, and only them.
pub const ROLE_HANDLERS: [&str; 4] = ["initializer", "executor", "cleaner", "optimizer"];

/// Every Lambda action the handlers call on a target: what a role in the target's account must
/// allow (`docs/cross-account-role.yaml`).
pub fn target_actions() -> std::collections::BTreeSet<&'static str> {
    HANDLER_LAMBDA_ACTIONS
        .iter()
        .flat_map(|(_, actions)| actions.iter().copied())
        .collect()
}

/// The actions of one handler.
pub fn actions_of(handler: &str) -> &'static [&'static str] {
    HANDLER_LAMBDA_ACTIONS
        .iter()
        .find(|(name, _)| *name == handler)
        .map(|(_, actions)| *actions)
        .unwrap_or(&[])
}
