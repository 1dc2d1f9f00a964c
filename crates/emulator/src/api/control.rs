//! The control plane (API reference: `CreateFunction`, `GetFunction`,
//! `GetFunctionConfiguration`, `UpdateFunctionConfiguration`, `PublishVersion`,
//! `ListVersionsByFunction`, `DeleteFunction`, the alias operations,
//! `Get/Put/DeleteFunctionConcurrency`, `GetAccountSettings`). Lambda's rules live on the
//! function model ([`crate::registry`]); here each operation is read from its request, paced by
//! the control-plane rate limit, logged, and answered in AWS's shapes.

use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::service::{ACCOUNT, Call, Service, Shared, control, created, ok};
use crate::lock;
use crate::registry::{
    Alias, ConfigChange, Function, FunctionSpec, Refusal, Snapshot, split_function_name,
};
use crate::report::last_modified;

/// Unpacks a base64 `.zip` into `directory` (replacing what was there).
fn unpack(zip: &str, directory: &std::path::Path) -> Result<(), String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(zip)
        .map_err(|e| e.to_string())?;
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(directory);
    std::fs::create_dir_all(directory).map_err(|e| e.to_string())?;
    archive.extract(directory).map_err(|e| e.to_string())
}

impl Service {
    /// The spec of a function `CreateFunction` asks for: its code unpacked, its runtime,
    /// architecture and environment checked.
    fn function_from(&self, body: &Value, name: &str) -> Result<FunctionSpec, Refusal> {
        if !crate::registry::valid_name(name) {
            return Err(Refusal::Invalid(format!(
                "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            )));
        }
        let runtime = body
            .get("Runtime")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(runtime, "provided.al2023" | "provided.al2") {
            return Err(Refusal::Invalid(format!(
                "The runtime parameter of {runtime:?} is not supported here: the emulator runs custom runtimes (provided.al2023, provided.al2) only"
            )));
        }
        if body
            .get("Role")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(Refusal::Invalid("Role is required".to_string()));
        }
        let Some(zip) = body.pointer("/Code/ZipFile").and_then(Value::as_str) else {
            return Err(Refusal::Invalid(
                "Code.ZipFile is required (S3 and image code are not emulated)".to_string(),
            ));
        };
        let directory = self.code_root.join(name);
        unpack(zip, &directory).map_err(|e| {
            Refusal::Invalid(format!("Could not unzip uploaded file. Please check your file, then try to upload again. ({e})"))
        })?;
        let mut spec = FunctionSpec::new(name, directory.join("bootstrap"));
        spec.architecture = match body.pointer("/Architectures/0").and_then(Value::as_str) {
            None | Some("x86_64") => crate::registry::Architecture::X86_64,
            Some("arm64") => crate::registry::Architecture::Arm64,
            Some(other) => {
                return Err(Refusal::Invalid(format!(
                    "1 validation error detected: Value '[{other}]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"
                )));
            }
        };
        if let Some(variables) = body
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
        {
            spec.environment = variables
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
        }
        Ok(spec)
    }

    fn configuration(
        &self,
        f: &Function,
        version: &str,
        snapshot: &Snapshot,
        modified: SystemTime,
    ) -> Value {
        let latest = version == "$LATEST";
        let updating = latest && f.updating();
        let mut config = json!({
            "FunctionName": f.name,
            "FunctionArn": self.arn(&f.name, (!latest).then_some(version)),
            "Runtime": "provided.al2023",
            "Role": format!("arn:aws:iam::{ACCOUNT}:role/emulator"),
            "Handler": "bootstrap",
            "CodeSize": snapshot.code_size(),
            "Description": snapshot.description,
            "Timeout": snapshot.timeout,
            "MemorySize": snapshot.memory,
            "LastModified": last_modified(modified),
            "CodeSha256": code_sha(snapshot),
            "Version": version,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": f.revision_id(),
            "State": "Active",
            "LastUpdateStatus": match (updating, latest.then_some(f.update_failure.as_ref()).flatten()) {
                (true, _) => "InProgress",
                (false, Some(_)) => "Failed",
                (false, None) => "Successful",
            },
            "PackageType": "Zip",
            "Architectures": [snapshot.architecture.as_str()],
            "EphemeralStorage": {"Size": 512},
            "LoggingConfig": snapshot.logging.to_json(&f.name),
        });
        if !snapshot.environment.is_empty() {
            config["Environment"] = json!({"Variables": snapshot.environment});
        }
        if updating {
            config["LastUpdateStatusReason"] = json!("The function is being updated.");
            config["LastUpdateStatusReasonCode"] = json!("Updating");
        } else if let Some(reason) = f.update_failure.as_ref().filter(|_| latest) {
            config["LastUpdateStatusReason"] = json!(reason);
            config["LastUpdateStatusReasonCode"] = json!("InternalError");
        }
        config
    }
}

fn code_sha(snapshot: &Snapshot) -> String {
    // Identifies the code by path, arguments, size and modification time (a cheap stand-in for its hash).
    let meta = std::fs::metadata(&snapshot.path).ok();
    let stamp = format!(
        "{}:{:?}:{}:{:?}",
        snapshot.path.display(),
        snapshot.args,
        meta.as_ref().map(|m| m.len()).unwrap_or(0),
        meta.and_then(|m| m.modified().ok())
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stamp.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hash.to_be_bytes().repeat(4))
}

fn describe(service: &Service, f: &Function, qualifier: Option<&str>) -> Result<Value, Refusal> {
    let resolved = f
        .resolve(qualifier)
        .ok_or_else(|| Refusal::function_not_found(service.arn(&f.name, qualifier)))?;
    let modified = resolved
        .version
        .parse::<u64>()
        .ok()
        .and_then(|n| f.versions.get(&n))
        .map(|(_, t)| *t)
        .unwrap_or(f.last_modified);
    Ok(service.configuration(f, &resolved.version, &resolved.snapshot, modified))
}

pub(super) async fn list_functions(State(service): Shared) -> Response {
    control(&service, "ListFunctions", "", None, |registry, _, _| {
        let functions: Vec<Value> = registry
            .functions
            .values()
            .map(|f| service.configuration(f, "$LATEST", &f.latest, f.last_modified))
            .collect();
        ok(json!({"Functions": functions}))
    })
}

/// `CreateFunction` of a custom-runtime function from a `.zip` (`Code.ZipFile`, its
/// `bootstrap` at the root, as Lambda requires for `provided.al2023`): the archive is unpacked
/// under the emulator's code directory and runs like any other function. Settings are checked
/// by the same rules as `UpdateFunctionConfiguration`; `LoggingConfig` as Lambda applies it.
pub(super) async fn create_function(call: Call) -> Response {
    let (service, body) = (&call.service, call.json());
    let name = body
        .get("FunctionName")
        .and_then(Value::as_str)
        .map(|n| split_function_name(n).0)
        .unwrap_or_default();
    control(
        service,
        "CreateFunction",
        &name,
        None,
        |registry, name, _| {
            let spec = service.function_from(&body, name)?;
            if registry.functions.contains_key(name) {
                return Err(Refusal::Conflict(format!("Function already exist: {name}")));
            }
            let mut function = Function::new(&spec, service.arn(name, None));
            function.update(
                &ConfigChange {
                    memory: body.get("MemorySize").cloned(),
                    timeout: body.get("Timeout").cloned(),
                    description: body.get("Description").cloned(),
                    logging: body.get("LoggingConfig").cloned(),
                    ..ConfigChange::default()
                },
                Duration::ZERO,
            )?;
            if body.get("Publish").and_then(Value::as_bool) == Some(true) {
                function.publish(None, None)?;
            }
            let config = service.configuration(
                &function,
                "$LATEST",
                &function.latest,
                function.last_modified,
            );
            registry.functions.insert(name.to_string(), function);
            created(config)
        },
    )
}

pub(super) async fn get_function(call: Call) -> Response {
    call.on_function("GetFunction", |f, qualifier, service| {
        let config = describe(service, f, qualifier)?;
        ok(
            json!({"Configuration": config, "Code": {"RepositoryType": "Local", "Location": f.latest.path.display().to_string()}}),
        )
    })
}

pub(super) async fn get_configuration(call: Call) -> Response {
    call.on_function("GetFunctionConfiguration", |f, qualifier, service| {
        ok(describe(service, f, qualifier)?)
    })
}

pub(super) async fn update_configuration(call: Call) -> Response {
    let body = call.json();
    let change = ConfigChange {
        memory: body.get("MemorySize").cloned(),
        timeout: body.get("Timeout").cloned(),
        description: body.get("Description").cloned(),
        environment: body
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
            .map(|variables| {
                variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            }),
        logging: body.get("LoggingConfig").cloned(),
        revision: body
            .get("RevisionId")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let mut retire = None;
    let response = call.on_function("UpdateFunctionConfiguration", |f, _, service| {
        f.update(&change, service.knobs.update_delay)?;
        let fault = lock(&service.faults).update(&f.name);
        if let Some(stuck) = fault.stuck {
            f.update_done_at = Instant::now() + stuck;
        }
        f.update_failure = fault.failed;
        retire = Some(format!("{}:$LATEST#", f.name));
        ok(service.configuration(f, "$LATEST", &f.latest, f.last_modified))
    });
    if let Some(prefix) = retire {
        call.service
            .environments
            .retire(|key| key.starts_with(&prefix))
            .await;
    }
    response
}

pub(super) async fn publish_version(call: Call) -> Response {
    let body = call.json();
    call.on_function("PublishVersion", |f, _, service| {
        let number = f.publish(
            body.get("Description").and_then(Value::as_str),
            body.get("RevisionId").and_then(Value::as_str),
        )?;
        created(describe(service, f, Some(&number.to_string()))?)
    })
}

pub(super) async fn list_versions(call: Call) -> Response {
    let params = &call.params;
    call.on_function("ListVersionsByFunction", |f, _, service| {
        let mut all = vec![service.configuration(f, "$LATEST", &f.latest, f.last_modified)];
        all.extend(
            f.versions
                .iter()
                .map(|(n, (s, t))| service.configuration(f, &n.to_string(), s, *t)),
        );
        let start: usize = params
            .get("Marker")
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        let page = params
            .get("MaxItems")
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(50)
            .clamp(1, 50);
        let end = (start + page).min(all.len());
        let mut out = json!({"Versions": all.get(start..end).unwrap_or_default()});
        if end < all.len() {
            out["NextMarker"] = json!(end.to_string());
        }
        ok(out)
    })
}

pub(super) async fn delete_function(call: Call) -> Response {
    let service = &call.service;
    /// What was deleted: the function, or one version (`name:N`, its environments' key).
    enum Deleted {
        Function(String),
        Version(String),
    }
    let mut deleted = None;
    let response = call.control("DeleteFunction", |registry, name, qualifier| {
        let Some(f) = registry.functions.get_mut(name) else {
            return Err(Refusal::function_not_found(service.arn(name, None)));
        };
        match qualifier {
            None => {
                registry.functions.remove(name);
                deleted = Some(Deleted::Function(name.to_string()));
            }
            Some(q) => {
                let number = f.delete_version(q)?;
                deleted = Some(Deleted::Version(format!("{name}:{number}")));
            }
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    });
    match deleted {
        Some(Deleted::Function(name)) => service.retire_function(&name).await,
        Some(Deleted::Version(key)) => service.environments.retire(|k| k == key).await,
        None => {}
    }
    response
}

fn alias_json(f: &Function, name: &str, alias: &Alias) -> Value {
    json!({
        "AliasArn": f.qualified_arn(name),
        "Name": name,
        "FunctionVersion": alias.version.to_string(),
        "Description": alias.description,
        "RevisionId": alias.revision,
    })
}

pub(super) async fn list_aliases(call: Call) -> Response {
    call.on_function("ListAliases", |f, _, _| {
        let aliases: Vec<Value> = f.aliases.iter().map(|(n, a)| alias_json(f, n, a)).collect();
        ok(json!({"Aliases": aliases}))
    })
}

pub(super) async fn create_alias(call: Call) -> Response {
    let body = call.json();
    call.on_function("CreateAlias", |f, _, _| {
        let (Some(alias), Some(version)) = (
            body.get("Name").and_then(Value::as_str),
            body.get("FunctionVersion").and_then(Value::as_str),
        ) else {
            return Err(Refusal::Invalid(
                "Name and FunctionVersion are required".to_string(),
            ));
        };
        let description = body
            .get("Description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let record = f.create_alias(alias, version, description)?;
        created(alias_json(f, alias, &record))
    })
}

pub(super) async fn get_alias(call: Call) -> Response {
    let alias = &call.alias;
    call.on_function("GetAlias", |f, _, _| {
        ok(alias_json(f, alias, f.alias(alias)?))
    })
}

pub(super) async fn update_alias(call: Call) -> Response {
    let (alias, body) = (&call.alias, call.json());
    call.on_function("UpdateAlias", |f, _, _| {
        let record = f.update_alias(
            alias,
            body.get("FunctionVersion").and_then(Value::as_str),
            body.get("Description").and_then(Value::as_str),
        )?;
        ok(alias_json(f, alias, &record))
    })
}

pub(super) async fn delete_alias(call: Call) -> Response {
    let alias = &call.alias;
    call.on_function("DeleteAlias", |f, _, _| {
        f.aliases.remove(alias);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// `GetFunctionConcurrency`: `ReservedConcurrentExecutions`, absent when none is set.
pub(super) async fn get_function_concurrency(call: Call) -> Response {
    call.on_function("GetFunctionConcurrency", |f, _, _| {
        ok(match f.reserved_concurrency {
            Some(n) => json!({"ReservedConcurrentExecutions": n}),
            None => json!({}),
        })
    })
}

/// `PutFunctionConcurrency`, within the account's limit.
pub(super) async fn put_function_concurrency(call: Call) -> Response {
    let value = call
        .json()
        .get("ReservedConcurrentExecutions")
        .cloned()
        .unwrap_or(Value::Null);
    let limit = call.service.concurrency.limit();
    call.control("PutFunctionConcurrency", |registry, name, _| {
        let reserved = registry.reserve(name, &value, limit)?;
        ok(json!({"ReservedConcurrentExecutions": reserved}))
    })
}

/// `DeleteFunctionConcurrency`.
pub(super) async fn delete_function_concurrency(call: Call) -> Response {
    call.on_function("DeleteFunctionConcurrency", |f, _, _| {
        f.reserved_concurrency = None;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// `GetAccountSettings`: the account's concurrency limit and what is left unreserved.
pub(super) async fn get_account_settings(State(service): Shared) -> Response {
    control(
        &service,
        "GetAccountSettings",
        "",
        None,
        |registry, _, _| {
            let limit = service.concurrency.limit();
            let code_size: u64 = registry
                .functions
                .values()
                .map(|f| f.latest.code_size())
                .sum();
            // API reference, `AccountLimit`; the code sizes are the default quotas (Lambda
            // Developer Guide, "Lambda quotas": 75 GB of code storage, 50 MB zipped and 250 MB
            // unzipped per deployment package).
            ok(json!({
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800_u64,
                    "CodeSizeUnzipped": 262_144_000,
                    "CodeSizeZipped": 52_428_800,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": limit.saturating_sub(registry.reserved_total()),
                },
                "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": registry.functions.len()},
            }))
        },
    )
}
