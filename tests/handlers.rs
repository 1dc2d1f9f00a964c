//! The five handler binaries as real Lambda functions in the emulator: they start under the
//! Runtime API and call the Lambda API at `AWS_ENDPOINT_URL_LAMBDA` (set by the emulator).

use aws_sdk_lambda::primitives::Blob;
use power_tuning_emulator::{Emulator, FunctionSpec, Options};
use serde_json::{Value, json};

use crate::support::{example, lambda_client};

pub const HANDLERS: [(&str, &str); 5] = [
    ("initializer", env!("CARGO_BIN_EXE_initializer")),
    ("executor", env!("CARGO_BIN_EXE_executor")),
    ("cleaner", env!("CARGO_BIN_EXE_cleaner")),
    ("analyzer", env!("CARGO_BIN_EXE_analyzer")),
    ("optimizer", env!("CARGO_BIN_EXE_optimizer")),
];

async fn call(
    client: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
) -> Result<Value, (String, String)> {
    let out = client
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .expect("invoke");
    let body: Value = serde_json::from_slice(out.payload().map(|p| p.as_ref()).unwrap_or(b"null"))
        .expect("json response");
    match out.function_error() {
        None => Ok(body),
        Some(_) => Err((
            body["errorType"].as_str().unwrap_or_default().to_string(),
            body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_binaries_tune_a_function_in_the_emulator() {
    let mut functions: Vec<FunctionSpec> = HANDLERS
        .iter()
        .map(|(name, path)| {
            let mut spec = FunctionSpec::new(*name, *path);
            spec.timeout = 60;
            spec
        })
        .collect();
    let mut target = FunctionSpec::new("target", example("recorder"));
    target.memory = 1024;
    target.description = "the target".to_string();
    functions.push(target);
    let emulator = Emulator::start(Options::default(), functions)
        .await
        .expect("start");
    let client = lambda_client(emulator.endpoint());
    let input = json!({"lambdaARN": emulator.arn("target"), "num": 5, "powerValues": [128, 512], "payload": {"x": 1}});
    let execution = "arn:aws:states:us-east-1:123456789012:execution:power-tuning:handlers-test";

    // Invalid input: InvalidInput, and not a single call on the target.
    let bad = call(&client, "initializer", &json!({"state": {"lambdaARN": emulator.arn("target"), "num": 2}, "executionId": execution})).await;
    assert_eq!(
        bad,
        Err((
            "InvalidInput".to_string(),
            "Missing num or num below 5".to_string()
        ))
    );
    assert!(emulator.calls().iter().all(|c| c.function != "target"));

    let mut state = input.clone();
    let configurations = call(
        &client,
        "initializer",
        &json!({"state": state, "executionId": execution}),
    )
    .await
    .expect("initializer");
    assert_eq!(configurations["iterator"]["continue"], false);
    assert_eq!(
        configurations["targets"][0]["original"],
        json!({"memorySize": 1024, "description": "the target", "architecture": "x86_64"})
    );
    state["lambdaConfigurations"] = configurations.clone();
    let mut stats = Vec::new();
    for configuration in configurations["configurations"].as_array().expect("list") {
        let stat = call(
            &client,
            "executor",
            &json!({"state": state, "executionId": execution, "configuration": configuration}),
        )
        .await
        .expect("executor");
        assert_eq!(stat["invocations"], 5);
        assert_eq!(stat["coldStarts"], 1);
        stats.push(stat);
    }
    state["stats"] = json!(stats);
    let cleaned = call(
        &client,
        "cleaner",
        &json!({"state": state, "executionId": execution}),
    )
    .await
    .expect("cleaner");
    assert_eq!(cleaned["deleted"].as_array().map(Vec::len), Some(2));
    let analysis = call(
        &client,
        "analyzer",
        &json!({"state": state, "executionId": execution}),
    )
    .await
    .expect("analyzer");
    assert!([128, 512].contains(&analysis["power"].as_u64().expect("power")));
    state["analysis"] = analysis.clone();
    // Without autoOptimize the analysis passes through the Optimizer unchanged.
    assert_eq!(
        call(
            &client,
            "optimizer",
            &json!({"state": state, "executionId": execution})
        )
        .await,
        Ok(analysis)
    );

    let target = client
        .get_function_configuration()
        .function_name("target")
        .send()
        .await
        .expect("target");
    assert_eq!(
        (target.memory_size(), target.description()),
        (Some(1024), Some("the target"))
    );
    let versions = client
        .list_versions_by_function()
        .function_name("target")
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 1, "only $LATEST is left");
    // The target was invoked by version number, 5 times per size.
    let invokes: Vec<_> = emulator
        .calls()
        .into_iter()
        .filter(|c| c.function == "target" && c.operation == "Invoke")
        .collect();
    assert_eq!(invokes.len(), 10);
    assert!(invokes.iter().all(|c| {
        c.qualifier
            .as_deref()
            .is_some_and(|q| q.parse::<u64>().is_ok())
    }));
    emulator.shutdown().await;
}
