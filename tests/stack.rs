//! The deployable stack: the state machine definition and the SAM template, checked against
//! each other, against the code, and against SPEC §1.1 and §5.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use serde_norway::Value as Yaml;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn definition_text() -> String {
    std::fs::read_to_string(root().join("statemachine/statemachine.asl.json")).expect("definition")
}

/// The `${name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("closed placeholder");
        out.insert(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

/// The definition with every placeholder substituted (as SAM does).
pub fn substituted_definition(arns: &BTreeMap<String, String>, timeout: u32) -> Value {
    let mut text = definition_text();
    for name in placeholders(&text) {
        let value = if name == "totalExecutionTimeout" {
            timeout.to_string()
        } else {
            arns.get(&name)
                .cloned()
                .unwrap_or_else(|| panic!("no value for {name}"))
        };
        text = text.replace(&format!("${{{name}}}"), &value);
    }
    serde_json::from_str(&text).expect("valid JSON after substitution")
}

fn template() -> Yaml {
    serde_norway::from_str(
        &std::fs::read_to_string(root().join("template.yaml")).expect("template"),
    )
    .expect("yaml")
}

fn get<'a>(y: &'a Yaml, key: &str) -> &'a Yaml {
    y.get(key).unwrap_or_else(|| panic!("missing {key}"))
}

fn functions(t: &Yaml) -> BTreeMap<String, Yaml> {
    get(t, "Resources")
        .as_mapping()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Yaml::as_str) == Some("AWS::Serverless::Function"))
        .map(|(k, r)| (k.as_str().expect("name").to_string(), r.clone()))
        .collect()
}

fn binaries() -> BTreeSet<String> {
    std::fs::read_dir(root().join("src/bin"))
        .expect("src/bin")
        .flatten()
        .filter_map(|e| {
            e.path()
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
        })
        .collect()
}

/// The binary a function of the template is built from.
fn binary_of(function: &Yaml) -> String {
    get(get(function, "Metadata"), "BuildProperties")
        .get("Binary")
        .and_then(Yaml::as_str)
        .expect("binary")
        .to_string()
}

fn state_machine(t: &Yaml) -> Yaml {
    get(t, "Resources")
        .as_mapping()
        .expect("resources")
        .values()
        .find(|r| r.get("Type").and_then(Yaml::as_str) == Some("AWS::Serverless::StateMachine"))
        .expect("a state machine")
        .clone()
}

#[test]
fn every_placeholder_is_substituted_and_every_substitution_used() {
    let t = template();
    let sm = state_machine(&t);
    assert_eq!(
        get(get(&sm, "Properties"), "DefinitionUri").as_str(),
        Some("statemachine/statemachine.asl.json")
    );
    let substitutions: BTreeSet<String> = get(get(&sm, "Properties"), "DefinitionSubstitutions")
        .as_mapping()
        .expect("substitutions")
        .keys()
        .map(|k| k.as_str().expect("key").to_string())
        .collect();
    assert_eq!(placeholders(&definition_text()), substitutions);
}

#[test]
fn every_binary_has_a_function_and_every_function_a_binary() {
    let t = template();
    let built: BTreeSet<String> = functions(&t)
        .values()
        .map(|f| {
            let metadata = get(f, "Metadata");
            assert_eq!(
                get(metadata, "BuildMethod").as_str(),
                Some("rust-cargolambda")
            );
            get(get(metadata, "BuildProperties"), "Binary")
                .as_str()
                .expect("Binary")
                .to_string()
        })
        .collect();
    assert_eq!(built, binaries());
    // Binary name = state name lower-cased, and the substitution names follow.
    let resources: BTreeSet<String> = all_states(&definition())
        .values()
        .filter_map(|s| s.get("Resource").and_then(Value::as_str))
        .map(|r| r.rsplit(':').next().expect("name").to_string())
        .collect();
    assert_eq!(resources, binaries());
}

/// Lambda actions granted to a function by its inline policy statements.
fn granted_actions(function: &Yaml) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for policy in get(function, "Properties")
        .get("Policies")
        .and_then(Yaml::as_sequence)
        .cloned()
        .unwrap_or_default()
    {
        for statement in policy
            .get("Statement")
            .and_then(Yaml::as_sequence)
            .cloned()
            .unwrap_or_default()
        {
            let actions = get(&statement, "Action");
            let list: Vec<String> = match actions {
                Yaml::String(s) => vec![s.clone()],
                Yaml::Sequence(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            for action in list.into_iter().filter(|a| a.starts_with("lambda:")) {
                let resource = serde_norway::to_string(get(&statement, "Resource")).expect("yaml");
                if power_tuning_core::iam::ACCOUNT_ACTIONS.contains(&action.as_str()) {
                    // Account-level: only "*" names it.
                    assert_eq!(resource.trim(), "'*'", "{action}: {resource}");
                } else {
                    // Qualified ARNs must be covered: '*', or lambdaResource and lambdaResource:*.
                    assert!(
                        resource.contains("lambdaResource")
                            && resource.contains("${lambdaResource}:*"),
                        "{action}: {resource}"
                    );
                }
                out.insert(action);
            }
        }
    }
    out
}

#[test]
fn iam_policies_grant_exactly_the_actions_the_code_calls() {
    let t = template();
    for (name, function) in functions(&t) {
        let expected: BTreeSet<String> = power_tuning_core::iam::actions_of(&binary_of(&function))
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(granted_actions(&function), expected, "{name}");
    }
}

/// Whether a function's policies hold the conditional `sts:AssumeRole` on `assumableRoleARNs`.
fn grants_assume_role(function: &Yaml) -> bool {
    let policies = get(function, "Properties")
        .get("Policies")
        .and_then(Yaml::as_sequence)
        .cloned()
        .unwrap_or_default();
    policies.iter().any(|policy| {
        let Yaml::Tagged(condition) = policy else {
            return false;
        };
        let text = serde_norway::to_string(&condition.value).expect("yaml");
        condition.tag == "!If"
            && text.contains("AssumeRoles")
            && text.contains("sts:AssumeRole")
            && text.contains("!Ref assumableRoleARNs")
            && text.contains("AWS::NoValue")
    })
}

#[test]
fn only_the_handlers_that_call_targets_may_assume_roles() {
    let t = template();
    let mut granted = BTreeSet::new();
    for (_, function) in functions(&t) {
        if grants_assume_role(&function) {
            granted.insert(binary_of(&function));
        }
    }
    let expected: BTreeSet<String> = power_tuning_core::iam::ROLE_HANDLERS
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(granted, expected);
    // Empty by default: no sts:AssumeRole at all unless the deployer names roles.
    let parameter = get(get(&t, "Parameters"), "assumableRoleARNs");
    assert_eq!(get(parameter, "Default").as_str(), Some(""));
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template");
    assert!(
        text.contains("AssumeRoles: !Not [!Equals [!Join [\"\", !Ref assumableRoleARNs], \"\"]]")
    );
}

#[test]
fn the_cross_account_role_allows_exactly_what_the_handlers_call() {
    let doc: Yaml = serde_norway::from_str(
        &std::fs::read_to_string(root().join("docs/cross-account-role.yaml"))
            .expect("role template"),
    )
    .expect("yaml");
    let role = get(get(&doc, "Resources"), "TargetAccessRole");
    let properties = get(role, "Properties");
    let statements = get(
        get(&get(properties, "Policies")[0], "PolicyDocument"),
        "Statement",
    );
    let statements = statements.as_sequence().expect("statements");
    let actions_of = |statement: &Yaml| -> Vec<String> {
        get(statement, "Action")
            .as_sequence()
            .expect("actions")
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    let actions: BTreeSet<String> = statements.iter().flat_map(actions_of).collect();
    let expected: BTreeSet<String> = power_tuning_core::iam::target_actions()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(actions, expected);
    for statement in statements {
        let resources = serde_norway::to_string(get(statement, "Resource")).expect("yaml");
        let account_level = actions_of(statement)
            .iter()
            .all(|a| power_tuning_core::iam::ACCOUNT_ACTIONS.contains(&a.as_str()));
        if account_level {
            assert_eq!(resources.trim(), "'*'");
            continue;
        }
        // Every region of the account (the region part is `*`), qualified ARNs too.
        assert!(
            resources.contains(
                "arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:function:${FunctionPattern}\n"
            ) && resources.contains("function:${FunctionPattern}:*"),
            "{resources}"
        );
        assert!(!resources.contains("${AWS::Region}"), "{resources}");
    }
    // No fixed role name by default: a second deployment does not collide.
    let name = serde_norway::to_string(get(properties, "RoleName")).expect("yaml");
    assert!(name.contains("AWS::NoValue"), "{name}");
    let trust = serde_norway::to_string(get(properties, "AssumeRolePolicyDocument")).expect("yaml");
    assert!(
        trust.contains("sts:RoleSessionName: power-tuning-*"),
        "{trust}"
    );
    assert!(trust.contains("role/${TunerStackName}-*"), "{trust}");
}

#[test]
fn template_follows_the_deployment_contract() {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template");
    assert!(
        !text.contains("arn:aws:"),
        "partition must come from ${{AWS::Partition}} or the resources"
    );
    let t = template();
    assert_eq!(
        get(&t, "Transform").as_str(),
        Some("AWS::Serverless-2016-10-31")
    );
    let globals = get(get(&t, "Globals"), "Function");
    assert_eq!(get(globals, "Runtime").as_str(), Some("provided.al2023"));
    assert_eq!(get(globals, "Handler").as_str(), Some("bootstrap"));
    assert_eq!(get(globals, "MemorySize").as_u64(), Some(128));
    assert_eq!(
        get(globals, "Architectures").as_sequence().map(|a| a.len()),
        Some(1)
    );
    assert_eq!(get(globals, "Architectures")[0].as_str(), Some("arm64"));
    assert_eq!(get(globals, "CodeUri").as_str(), Some("."));
    let variables = get(get(globals, "Environment"), "Variables");
    for name in [
        "defaultPowerValues",
        "baseCosts",
        "sfCosts",
        "visualizationURL",
        "totalExecutionTimeout",
        "requestCost",
    ] {
        assert!(variables.get(name).is_some(), "{name}");
    }
    // The live-run window of the run markers is the deployment's task timeout.
    match get(variables, "totalExecutionTimeout") {
        Yaml::Tagged(reference) => assert_eq!(
            (reference.tag.to_string(), reference.value.as_str()),
            ("!Ref".to_string(), Some("totalExecutionTimeout"))
        ),
        other => panic!("totalExecutionTimeout must be !Ref totalExecutionTimeout, not {other:?}"),
    }
    assert_eq!(
        get(variables, "requestCost")
            .as_str()
            .and_then(|c| c.parse::<f64>().ok()),
        Some(power_tuning_core::settings::DEFAULT_REQUEST_COST)
    );
    // The template's prices are the binaries' built-in defaults.
    let base: Value = serde_json::from_str(get(variables, "baseCosts").as_str().expect("json"))
        .expect("baseCosts");
    assert_eq!(
        base,
        serde_json::from_str::<Value>(power_tuning_core::settings::DEFAULT_BASE_COSTS)
            .expect("default")
    );
    let sf: Value =
        serde_json::from_str(get(variables, "sfCosts").as_str().expect("json")).expect("sfCosts");
    assert_eq!(
        sf,
        serde_json::from_str::<Value>(power_tuning_core::settings::DEFAULT_SF_COSTS)
            .expect("default")
    );

    let parameters = get(&t, "Parameters");
    for name in [
        "PowerValues",
        "visualizationURL",
        "lambdaResource",
        "totalExecutionTimeout",
        "permissionsBoundary",
        "payloadS3Bucket",
        "payloadS3Key",
        "logGroupRetentionInDays",
        "securityGroupIds",
        "subnetIds",
        "stateMachineNamePrefix",
    ] {
        assert!(parameters.get(name).is_some(), "parameter {name}");
    }
    let timeout = get(parameters, "totalExecutionTimeout");
    assert_eq!(
        (
            get(timeout, "MinValue").as_u64(),
            get(timeout, "MaxValue").as_u64(),
            get(timeout, "Default").as_u64()
        ),
        (Some(10), Some(900), Some(300))
    );
    assert_eq!(
        get(get(parameters, "PowerValues"), "Default").as_str(),
        Some("128,256,512,1024,1536,3008")
    );

    // A log group with retention for every function and the state machine.
    let resources = get(&t, "Resources").as_mapping().expect("resources");
    let log_groups: Vec<String> = resources
        .values()
        .filter(|r| r.get("Type").and_then(Yaml::as_str) == Some("AWS::Logs::LogGroup"))
        .map(|r| {
            assert!(get(r, "Properties").get("RetentionInDays").is_some());
            serde_norway::to_string(get(get(r, "Properties"), "LogGroupName")).expect("yaml")
        })
        .collect();
    for name in functions(&t).keys() {
        assert!(
            log_groups
                .iter()
                .any(|g| g.contains(&format!("${{{name}}}"))),
            "log group of {name}"
        );
    }
    assert!(log_groups.iter().any(|g| g.contains("vendedlogs/states")));

    assert!(
        get(get(&t, "Outputs"), "StateMachineARN")
            .get("Value")
            .is_some()
    );
    let sar = get(get(&t, "Metadata"), "AWS::ServerlessRepo::Application");
    for key in [
        "Name",
        "Description",
        "Author",
        "SpdxLicenseId",
        "LicenseUrl",
        "ReadmeUrl",
        "Labels",
        "SemanticVersion",
        "SourceCodeUrl",
    ] {
        assert!(sar.get(key).is_some(), "SAR {key}");
    }
    for file in ["LICENSE", "README.md"] {
        assert!(root().join(file).exists(), "{file}");
    }
}

/// Every state, nested ones included.
fn all_states(definition: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    fn walk(states: &Value, out: &mut BTreeMap<String, Value>) {
        for (name, state) in states.as_object().expect("states") {
            out.insert(name.clone(), state.clone());
            if let Some(inner) = state.pointer("/ItemProcessor/States") {
                walk(inner, out);
            }
        }
    }
    walk(&definition["States"], &mut out);
    out
}

fn definition() -> Value {
    substituted_definition(
        &binaries()
            .iter()
            .map(|b| {
                (
                    format!("{b}Arn"),
                    format!("arn:aws:lambda:us-east-1:123456789012:function:{b}"),
                )
            })
            .collect(),
        300,
    )
}

#[test]
fn no_state_is_unreachable() {
    let d = definition();
    fn reach(machine: &Value, seen: &mut BTreeSet<String>) {
        let states = machine["States"].as_object().expect("states");
        let mut todo = vec![machine["StartAt"].as_str().expect("StartAt").to_string()];
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let state = states
                .get(&name)
                .unwrap_or_else(|| panic!("transition to missing state {name}"));
            let mut next: Vec<&Value> = vec![&state["Next"], &state["Default"]];
            next.extend(
                state["Choices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| &c["Next"]),
            );
            next.extend(
                state["Catch"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| &c["Next"]),
            );
            todo.extend(
                next.into_iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
            if let Some(processor) = state.get("ItemProcessor") {
                reach(processor, seen);
            }
        }
    }
    let mut seen = BTreeSet::new();
    reach(&d, &mut seen);
    let all: BTreeSet<String> = all_states(&d).keys().cloned().collect();
    assert_eq!(
        seen,
        all,
        "unreachable: {:?}",
        all.difference(&seen).collect::<Vec<_>>()
    );
}

#[test]
fn definition_has_the_contract_shape() {
    let d = definition();
    let states = all_states(&d);
    assert_eq!(d["StartAt"], "Initializer");
    assert_eq!(states["Initializer"]["Next"], "IsPublishingDone");
    assert_eq!(states["IsPublishingDone"]["Type"], "Choice");
    assert_eq!(
        states["IsPublishingDone"]["Choices"][0]["Variable"],
        "$.lambdaConfigurations.iterator.continue"
    );
    assert_eq!(
        states["IsPublishingDone"]["Choices"][0]["Next"],
        "Initializer"
    );
    assert_eq!(states["IsPublishingDone"]["Default"], "Branching");
    assert_eq!(states["Branching"]["Type"], "Map");
    assert_eq!(states["Branching"]["MaxConcurrency"], 0);
    assert_eq!(
        states["Branching"]["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "INLINE"
    );
    assert_eq!(states["Branching"]["Next"], "Cleaner");
    assert_eq!(states["Cleaner"]["Next"], "Analyzer");
    assert_eq!(states["Analyzer"]["Next"], "Optimizer");
    assert_eq!(states["Optimizer"]["End"], true);
    assert_eq!(states["Optimizer"]["OutputPath"], "$.analysis");
    assert_eq!(states["Analyzer"]["TimeoutSeconds"], 10);
    assert_eq!(states["Failed"]["Type"], "Fail");
    assert_eq!(states["Failed"]["ErrorPath"], "$.error.Error");
    assert_eq!(states["Failed"]["CausePath"], "$.error.Cause");
    // InvalidInput goes straight to Fail; every other error is cleaned up first.
    assert_eq!(
        states["Initializer"]["Catch"][0],
        serde_json::json!({"ErrorEquals": ["InvalidInput"], "ResultPath": "$.error", "Next": "Failed"})
    );
    for name in [
        "Initializer",
        "Branching",
        "Analyzer",
        "Optimizer",
        "Cleaner",
    ] {
        let catches = states[name]["Catch"].as_array().expect("catch");
        let last = catches.last().expect("a catch");
        assert_eq!(
            (
                last["ErrorEquals"][0].as_str(),
                last["Next"].as_str(),
                last["ResultPath"].as_str()
            ),
            (Some("States.ALL"), Some("CleanUpOnError"), Some("$.error")),
            "{name}"
        );
    }
    assert_eq!(states["CleanUpOnError"]["Next"], "Failed");
    for (name, state) in &states {
        if state["Type"] == "Task" {
            assert!(state["TimeoutSeconds"].is_u64(), "{name} has a timeout");
            for retry in state["Retry"].as_array().expect("retry") {
                for error in retry["ErrorEquals"].as_array().expect("errors") {
                    let error = error.as_str().expect("name");
                    assert!(
                        power_tuning_core::HandlerError::TRANSIENT_TYPES.contains(&error)
                            || error.starts_with("Lambda."),
                        "{name} retries {error}"
                    );
                    assert!(
                        !["States.ALL", "States.Timeout", "InvalidInput"].contains(&error),
                        "{name} retries {error}"
                    );
                }
            }
        }
    }
}
