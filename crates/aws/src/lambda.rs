//! [`LambdaApi`] on aws-sdk-lambda: every call, `Invoke` included, is the SDK's own operation
//! (SPEC §14), so its signing, endpoint rules, connection poisoning after 5xx and timeouts,
//! `X-Amzn-Trace-Id` forwarding from inside Lambda, clock-skew handling and new parameters
//! come with SDK updates.
//!
//! One client per region, role and response handling, built lazily from the shared
//! configuration and signed for the region of the ARN it calls (targets and processors may live
//! in other regions than the tuner). The clients share the configuration's HTTP client, so one
//! process keeps one connection pool. The clients that invoke targets keep only the first
//! 64 KiB of a response ([`ResponseHead`]); a post-processor's call keeps it whole. SDK retries
//! are disabled here because the core's `Resilient` wrapper retries with backoff and paces
//! every attempt, retries included, under the control-plane limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::Region;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent;
use aws_sdk_lambda::types::{InvocationType, LastUpdateStatus, LogType};
use aws_smithy_types::retry::RetryConfig;
use power_tuning_core::arn::region_of;
use power_tuning_core::ports::{
    AccountConcurrency, AliasConfig, AliasTarget, AssumedRole, ConfigUpdate, FunctionConfig,
    InvokeOptions, InvokeOutput, InvokeRequest, LambdaApi, LambdaError, StreamedOutput,
    UpdateStatus, VersionsPage,
};

use crate::config::{READ_TIMEOUT, endpoint_override};
use crate::errors::classify;
use crate::interceptors::{FirstPoll, ResponseHead};
use crate::lock;

/// What a client is for: its region, the role it signs with, and whether it keeps whole
/// responses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    region: String,
    role: Option<String>,
    whole_responses: bool,
}

/// A role in use: its account, a key for its clients, and its credentials.
#[derive(Clone)]
struct ActiveRole {
    account: String,
    key: String,
    credentials: SharedCredentialsProvider,
}

/// The Lambda API through the SDK.
pub struct SdkLambda {
    base: aws_sdk_lambda::config::Builder,
    /// What roles are assumed with (the tuner's own credentials, STS endpoint override).
    config: Option<SdkConfig>,
    /// Clients by region, role and response handling, built on first use and kept.
    clients: Mutex<HashMap<ClientKey, Client>>,
    /// Roles by key: a run's role is assumed once per process and its credentials refreshed
    /// by the clients' identity cache before they expire.
    roles: Mutex<HashMap<String, ActiveRole>>,
    role: Mutex<Option<ActiveRole>>,
    fixed: Option<Client>,
}

impl SdkLambda {
    /// Clients are built per region from `config`.
    pub fn new(config: &SdkConfig) -> Self {
        // Retries are core's (`Resilient`, paced).
        let mut base =
            aws_sdk_lambda::config::Builder::from(config).retry_config(RetryConfig::disabled());
        if let Some(url) = endpoint_override("LAMBDA") {
            base = base.endpoint_url(url);
        }
        SdkLambda {
            base,
            config: Some(config.clone()),
            clients: Mutex::new(HashMap::new()),
            roles: Mutex::new(HashMap::new()),
            role: Mutex::new(None),
            fixed: None,
        }
    }

    /// Always uses `client`, whatever the region (tests, single-region tools).
    pub fn with_client(client: Client) -> Self {
        SdkLambda {
            base: aws_sdk_lambda::config::Builder::default(),
            config: None,
            clients: Mutex::new(HashMap::new()),
            roles: Mutex::new(HashMap::new()),
            role: Mutex::new(None),
            fixed: Some(client),
        }
    }

    /// The client for an ARN: signed for its region (the configuration's for a plain function
    /// name), with the role in use when the function is in the role's account; it keeps only
    /// the head of responses unless `whole_responses`.
    fn client(&self, arn: &str, whole_responses: bool) -> Client {
        if let Some(client) = &self.fixed {
            return client.clone();
        }
        let region = region_of(arn)
            .map(str::to_string)
            .or_else(|| Some(self.config.as_ref()?.region()?.to_string()))
            .unwrap_or_else(|| "us-east-1".to_string());
        let account = arn.split(':').nth(4).unwrap_or_default();
        let role = lock(&self.role)
            .clone()
            .filter(|role| role.account == account);
        let key = ClientKey {
            region: region.clone(),
            role: role.as_ref().map(|r| r.key.clone()),
            whole_responses,
        };
        lock(&self.clients)
            .entry(key)
            .or_insert_with(|| {
                let mut builder = self.base.clone().region(Region::new(region));
                if let Some(role) = role {
                    builder = builder.credentials_provider(role.credentials);
                }
                if !whole_responses {
                    builder = builder.interceptor(ResponseHead);
                }
                Client::from_conf(builder.build())
            })
            .clone()
    }

    /// The client for an ARN's control-plane calls.
    pub fn client_for(&self, arn: &str) -> Client {
        self.client(arn, true)
    }

    /// Assumes `role` (once per role and session in this process) and checks it works.
    async fn assume(&self, role: &AssumedRole) -> Result<ActiveRole, LambdaError> {
        let key = format!("{}#{}", role.role_arn, role.session_name);
        if let Some(active) = lock(&self.roles).get(&key) {
            return Ok(active.clone());
        }
        let Some(config) = &self.config else {
            return Err(LambdaError::InvalidRequest {
                code: "NoSdkConfig".to_string(),
                message: "roles need a client built from an SDK configuration".to_string(),
            });
        };
        let mut sts = config.clone().into_builder();
        if let Some(url) = endpoint_override("STS") {
            sts = sts.endpoint_url(url);
        }
        let provider = AssumeRoleProvider::builder(role.role_arn.as_str())
            .session_name(role.session_name.clone())
            .configure(&sts.build())
            .build()
            .await;
        // Assumed at once: a role that cannot be assumed fails before any call on a target.
        provider.provide_credentials().await.map_err(|e| {
            let text = crate::errors::display_chain(&e);
            if text.contains("AccessDenied") || text.contains("not authorized") {
                LambdaError::AccessDenied(text)
            } else {
                LambdaError::Transport(text)
            }
        })?;
        let active = ActiveRole {
            account: role.role_arn.account().to_string(),
            key: key.clone(),
            credentials: SharedCredentialsProvider::new(provider),
        };
        lock(&self.roles).insert(key, active.clone());
        Ok(active)
    }
}

/// Converts the several SDK shapes of a function configuration.
macro_rules! function_config {
    ($out:expr) => {{
        let out = $out;
        FunctionConfig {
            version: out.version().unwrap_or("$LATEST").to_string(),
            memory_size: out.memory_size().unwrap_or(128).max(0) as u32,
            description: out.description().unwrap_or_default().to_string(),
            architecture: out
                .architectures()
                .first()
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|| "x86_64".to_string()),
            state: out.state().map(|s| s.as_str().to_string()),
            last_update_status: out.last_update_status().map(update_status),
            last_update_status_reason: out.last_update_status_reason().map(str::to_string),
            revision_id: out.revision_id().map(str::to_string),
        }
    }};
}

/// Converts the SDK's alias outputs (get, create and update share the shape, not the type).
macro_rules! alias_config {
    ($out:expr, $name:expr, $version:expr) => {{
        let out = $out;
        AliasConfig {
            name: out.name().unwrap_or($name).to_string(),
            function_version: out.function_version().unwrap_or($version).to_string(),
        }
    }};
}

/// `CreateAlias` or `UpdateAlias` (`$operation`): the same request and answer shapes.
macro_rules! put_alias {
    ($self:ident, $operation:ident, $function:expr, $alias:expr) => {{
        let alias = $alias;
        let out = $self
            .client_for($function)
            .$operation()
            .function_name($function)
            .name(alias.name)
            .function_version(alias.version)
            .send()
            .await
            .map_err(classify)?;
        Ok(alias_config!(out, alias.name, alias.version))
    }};
}

fn update_status(status: &LastUpdateStatus) -> UpdateStatus {
    match status {
        LastUpdateStatus::Successful => UpdateStatus::Successful,
        LastUpdateStatus::Failed => UpdateStatus::Failed,
        _ => UpdateStatus::InProgress,
    }
}

impl LambdaApi for SdkLambda {
    async fn get_configuration(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        let out = self
            .client_for(function)
            .get_function_configuration()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await
            .map_err(classify)?;
        Ok(function_config!(&out))
    }

    async fn update_configuration(
        &self,
        function: &str,
        update: ConfigUpdate<'_>,
    ) -> Result<FunctionConfig, LambdaError> {
        let out = self
            .client_for(function)
            .update_function_configuration()
            .function_name(function)
            .memory_size(update.memory_size as i32)
            .description(update.description)
            .set_revision_id(update.revision.map(str::to_string))
            .send()
            .await
            .map_err(classify)?;
        Ok(function_config!(&out))
    }

    async fn publish_version(
        &self,
        function: &str,
        revision: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        let out = self
            .client_for(function)
            .publish_version()
            .function_name(function)
            .set_revision_id(revision.map(str::to_string))
            .send()
            .await
            .map_err(classify)?;
        Ok(function_config!(&out))
    }

    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<VersionsPage, LambdaError> {
        let out = self
            .client_for(function)
            .list_versions_by_function()
            .function_name(function)
            .set_marker(marker.map(str::to_string))
            .max_items(50)
            .send()
            .await
            .map_err(classify)?;
        Ok(VersionsPage {
            versions: out.versions().iter().map(|v| function_config!(v)).collect(),
            next_marker: out.next_marker().map(str::to_string),
        })
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<(), LambdaError> {
        self.client_for(function)
            .delete_function()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get_alias(&self, function: &str, name: &str) -> Result<AliasConfig, LambdaError> {
        let out = self
            .client_for(function)
            .get_alias()
            .function_name(function)
            .name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(alias_config!(out, name, ""))
    }

    async fn create_alias(
        &self,
        function: &str,
        alias: AliasTarget<'_>,
    ) -> Result<AliasConfig, LambdaError> {
        put_alias!(self, create_alias, function, alias)
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: AliasTarget<'_>,
    ) -> Result<AliasConfig, LambdaError> {
        put_alias!(self, update_alias, function, alias)
    }

    async fn invoke(
        &self,
        request: InvokeRequest<'_>,
        options: InvokeOptions,
    ) -> Result<InvokeOutput, LambdaError> {
        let InvokeRequest {
            function,
            qualifier,
            payload,
        } = request;
        let out = self
            .client(function, options.whole_response)
            .invoke()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_string))
            .invocation_type(InvocationType::RequestResponse)
            .log_type(if options.tail_logs {
                LogType::Tail
            } else {
                LogType::None
            })
            // The SDK's request body owns its bytes: the one copy of the payload.
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(classify)?;
        Ok(InvokeOutput {
            function_error: out.function_error,
            log_result: out.log_result,
            executed_version: out.executed_version,
            payload: out.payload.map(Blob::into_inner).unwrap_or_default(),
        })
    }

    async fn get_function_concurrency(&self, function: &str) -> Result<Option<u32>, LambdaError> {
        let out = self
            .client_for(function)
            .get_function_concurrency()
            .function_name(function)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .reserved_concurrent_executions()
            .map(|n| u32::try_from(n).unwrap_or(0)))
    }

    async fn get_account_concurrency(
        &self,
        function: &str,
    ) -> Result<AccountConcurrency, LambdaError> {
        let out = self
            .client_for(function)
            .get_account_settings()
            .send()
            .await
            .map_err(classify)?;
        let limit = out.account_limit();
        let count = |n: Option<i32>| n.map_or(0, |n| u32::try_from(n).unwrap_or(0));
        let concurrent = count(limit.map(|l| l.concurrent_executions()));
        Ok(AccountConcurrency {
            unreserved: limit
                .and_then(|l| l.unreserved_concurrent_executions())
                .map_or(concurrent, |n| count(Some(n))),
        })
    }

    async fn use_role(&self, role: Option<&AssumedRole>) -> Result<(), LambdaError> {
        let active = match role {
            Some(role) => Some(self.assume(role).await?),
            None => None,
        };
        *lock(&self.role) = active;
        Ok(())
    }

    async fn invoke_streaming(
        &self,
        request: InvokeRequest<'_>,
    ) -> Result<StreamedOutput, LambdaError> {
        let function = request.function;
        let first_poll = FirstPoll::default();
        let called = Instant::now();
        let mut out = self
            .client_for(function)
            .invoke_with_response_stream()
            .function_name(function)
            .set_qualifier(request.qualifier.map(str::to_string))
            .log_type(LogType::Tail)
            .payload(Blob::new(request.payload))
            .customize()
            .interceptor(first_poll.clone())
            .send()
            .await
            .map_err(classify)?;
        // Time to first byte from the request sent on a ready connection (SPEC §14).
        let sent = first_poll.at().unwrap_or(called);
        let mut streamed = StreamedOutput {
            executed_version: out.executed_version().map(str::to_string),
            ..StreamedOutput::default()
        };
        loop {
            // The read timeout covers the response's head only: a stream that stalls longer
            // than any invocation can last is broken, that invocation's StreamIncomplete.
            let Ok(event) = tokio::time::timeout(READ_TIMEOUT, out.event_stream.recv()).await
            else {
                streamed.broken = Some(format!(
                    "the response stream of {function} stalled for {} s",
                    READ_TIMEOUT.as_secs()
                ));
                return Ok(streamed);
            };
            match event {
                Ok(Some(InvokeWithResponseStreamResponseEvent::PayloadChunk(chunk))) => {
                    let size = chunk.payload().map(|p| p.as_ref().len()).unwrap_or(0);
                    if size > 0 && streamed.time_to_first_byte.is_none() {
                        streamed.time_to_first_byte = Some(sent.elapsed());
                    }
                    // Counted, not kept: memory does not grow with the response.
                    streamed.response_bytes += size as u64;
                }
                Ok(Some(InvokeWithResponseStreamResponseEvent::InvokeComplete(complete))) => {
                    streamed.error_code = complete.error_code().map(str::to_string);
                    streamed.error_details = complete.error_details().map(str::to_string);
                    streamed.log_result = complete.log_result().map(str::to_string);
                    streamed.completed = true;
                }
                Ok(Some(_)) => {}
                // Without InvokeComplete, `completed` stays false: the Executor counts it as a
                // failed invocation, never as a 0 ms success.
                Ok(None) => return Ok(streamed),
                // The function was invoked and its answer had begun: a stream cut mid-frame or
                // by a reset is that invocation's StreamIncomplete (SPEC §14), not a transport
                // error whose retry would run the function again (the SDK retries a request,
                // never a response body it has handed over).
                Err(error) => {
                    streamed.broken = Some(format!(
                        "reading the response stream of {function}: {}",
                        crate::errors::display_chain(&error)
                    ));
                    return Ok(streamed);
                }
            }
        }
    }
}
