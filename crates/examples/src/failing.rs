//! Example target: always fails with `errorType` `IntentionalError`.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async move {
        Err::<Value, _>(Diagnostic {
            error_type: "IntentionalError".to_string(),
            error_message: "this function always fails".to_string(),
        })
    }))
    .await
}
