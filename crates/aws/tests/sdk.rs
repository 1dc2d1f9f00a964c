//! The ports on the real SDK clients, with responses mocked by aws-smithy-mocks.

use std::time::Duration;

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::invoke::InvokeOutput as SdkInvokeOutput;
use aws_sdk_lambda::operation::list_versions_by_function::ListVersionsByFunctionOutput;
use aws_sdk_lambda::operation::publish_version::PublishVersionOutput;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, FunctionConfiguration, LastUpdateStatus, LogType, State,
};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use power_tuning_aws::{S3Payloads, SdkLambda, TokioClock};
use power_tuning_core::ports::{
    ConfigUpdate, InvokeOptions, InvokeRequest, LambdaApi, LambdaError, PayloadSource,
    PayloadSourceError, UpdateStatus,
};
use power_tuning_core::resilient::Resilient;

/// A mocked Lambda client configured like production: SDK retries off (Resilient retries).
macro_rules! lambda_mock {
    ($mode:expr, [$($rule:expr),*]) => {
        mock_client!(aws_sdk_lambda, $mode, [$($rule),*], |c| c.retry_config(aws_smithy_types::retry::RetryConfig::disabled()))
    };
    ([$($rule:expr),*]) => { lambda_mock!(RuleMode::Sequential, [$($rule),*]) };
}

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:target";

fn error_body(code: &str, message: &str) -> Option<String> {
    Some(format!(
        "{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"
    ))
}

#[tokio::test]
async fn configuration_is_mapped() {
    let rule = mock!(aws_sdk_lambda::Client::get_function_configuration)
        .match_requests(|r| r.function_name() == Some(ARN) && r.qualifier().is_none())
        .then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .version("$LATEST")
                .memory_size(1024)
                .description("hello")
                .architectures(Architecture::Arm64)
                .state(State::Active)
                .last_update_status(LastUpdateStatus::InProgress)
                .build()
        });
    let lambda = SdkLambda::with_client(lambda_mock!([&rule]));
    let config = lambda.get_configuration(ARN, None).await.expect("mapped");
    assert_eq!(config.memory_size, 1024);
    assert_eq!(config.description, "hello");
    assert_eq!(config.architecture, "arm64");
    assert_eq!(config.state.as_deref(), Some("Active"));
    assert_eq!(config.last_update_status, Some(UpdateStatus::InProgress));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_and_publish_are_mapped() {
    let update = mock!(aws_sdk_lambda::Client::update_function_configuration)
        .match_requests(|r| {
            r.memory_size() == Some(512)
                && r.description() == Some("d [m]")
                && r.revision_id() == Some("rev-1")
        })
        .then_output(|| {
            UpdateFunctionConfigurationOutput::builder()
                .memory_size(512)
                .description("d [m]")
                .last_update_status(LastUpdateStatus::Successful)
                .revision_id("rev-2")
                .build()
        });
    let publish = mock!(aws_sdk_lambda::Client::publish_version)
        .match_requests(|r| r.revision_id() == Some("rev-2"))
        .then_output(|| {
            PublishVersionOutput::builder()
                .version("7")
                .memory_size(512)
                .description("d [m]")
                .build()
        });
    let lambda = SdkLambda::with_client(lambda_mock!(RuleMode::MatchAny, [&update, &publish]));
    let updated = lambda
        .update_configuration(
            ARN,
            ConfigUpdate::new(512, "d [m]").at_revision(Some("rev-1")),
        )
        .await
        .expect("update");
    assert_eq!(updated.last_update_status, Some(UpdateStatus::Successful));
    assert_eq!(updated.revision_id.as_deref(), Some("rev-2"));
    let published = lambda
        .publish_version(ARN, updated.revision_id.as_deref())
        .await
        .expect("publish");
    assert_eq!(
        (published.version.as_str(), published.memory_size),
        ("7", 512)
    );
    assert_eq!(
        published.architecture, "x86_64",
        "no Architectures means x86_64"
    );
}

#[tokio::test]
async fn invoke_sends_qualifier_and_tail_and_maps_the_response() {
    let rule = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|r| {
            r.qualifier() == Some("7")
                && r.log_type() == Some(&LogType::Tail)
                && r.payload().map(|p| p.as_ref()) == Some(&b"{\"a\":1}"[..])
        })
        .then_output(|| {
            SdkInvokeOutput::builder()
                .status_code(200)
                .function_error("Unhandled")
                .log_result("UkVQT1JU")
                .executed_version("7")
                .payload(Blob::new(&b"{\"errorType\":\"E\"}"[..]))
                .build()
        });
    let lambda = SdkLambda::with_client(lambda_mock!([&rule]));
    let out = lambda
        .invoke(
            InvokeRequest::new(ARN, Some("7"), b"{\"a\":1}"),
            InvokeOptions {
                tail_logs: true,
                whole_response: true,
            },
        )
        .await
        .expect("invoke");
    assert_eq!(out.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(out.log_result.as_deref(), Some("UkVQT1JU"));
    assert_eq!(out.executed_version.as_deref(), Some("7"));
    assert_eq!(out.payload, b"{\"errorType\":\"E\"}");
}

#[tokio::test]
async fn versions_are_paginated() {
    let rule = mock!(aws_sdk_lambda::Client::list_versions_by_function)
        .match_requests(|r| r.marker() == Some("m1") && r.max_items() == Some(50))
        .then_output(|| {
            ListVersionsByFunctionOutput::builder()
                .versions(
                    FunctionConfiguration::builder()
                        .version("$LATEST")
                        .memory_size(128)
                        .build(),
                )
                .versions(
                    FunctionConfiguration::builder()
                        .version("3")
                        .memory_size(256)
                        .description("x")
                        .build(),
                )
                .next_marker("m2")
                .build()
        });
    let lambda = SdkLambda::with_client(lambda_mock!([&rule]));
    let page = lambda.list_versions(ARN, Some("m1")).await.expect("page");
    assert_eq!(page.versions.len(), 2);
    assert_eq!(page.versions[1].version, "3");
    assert_eq!(page.next_marker.as_deref(), Some("m2"));
}

#[tokio::test]
async fn service_errors_are_classified() {
    type Check = fn(&LambdaError) -> bool;
    let cases: Vec<(u16, &str, Check)> = vec![
        (
            404,
            "ResourceNotFoundException",
            |e| matches!(e, LambdaError::NotFound(m) if m == "nope"),
        ),
        (409, "ResourceConflictException", |e| {
            matches!(e, LambdaError::Conflict(_))
        }),
        (429, "TooManyRequestsException", |e| {
            matches!(e, LambdaError::Throttled(_))
        }),
        (403, "AccessDeniedException", |e| {
            matches!(e, LambdaError::AccessDenied(_))
        }),
        (
            500,
            "ServiceException",
            |e| matches!(e, LambdaError::Service { code, .. } if code == "ServiceException"),
        ),
        (
            400,
            "InvalidParameterValueException",
            |e| matches!(e, LambdaError::InvalidRequest { code, .. } if code == "InvalidParameterValueException"),
        ),
        // A 502 that retrying cannot fix: classified by its code, not its status.
        (
            502,
            "KMSDisabledException",
            |e| matches!(e, LambdaError::Permanent { code: "KMSDisabledException", message } if message == "nope"),
        ),
        (502, "EC2UnexpectedException", |e| {
            matches!(e, LambdaError::Service { .. })
        }),
    ];
    for (status, code, check) in cases {
        let rule = mock!(aws_sdk_lambda::Client::get_function_configuration)
            .sequence()
            .http_status(status, error_body(code, "nope"))
            .build();
        let lambda = SdkLambda::with_client(lambda_mock!([&rule]));
        let error = lambda
            .get_configuration(ARN, None)
            .await
            .expect_err("error");
        assert!(check(&error), "{status} {code} → {error:?}");
        assert!(
            error.is_transient()
                == matches!(
                    code,
                    "TooManyRequestsException" | "ServiceException" | "EC2UnexpectedException"
                ),
            "{error:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn resilient_retries_throttling_and_5xx_then_succeeds() {
    let rule = mock!(aws_sdk_lambda::Client::publish_version)
        .sequence()
        .http_status(429, error_body("TooManyRequestsException", "Rate exceeded"))
        .times(3)
        .http_status(503, error_body("ServiceException", "busy"))
        .output(|| PublishVersionOutput::builder().version("9").build())
        .build();
    let lambda = Resilient::new(SdkLambda::with_client(lambda_mock!([&rule])), TokioClock);
    let started = tokio::time::Instant::now();
    let published = lambda.publish_version(ARN, None).await.expect("retried");
    assert_eq!(published.version, "9");
    assert_eq!(rule.num_calls(), 5);
    // Backoff happened (virtual time): at least 50+100+200+400 ms of halves plus pacing.
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn resilient_does_not_retry_client_errors() {
    let rule = mock!(aws_sdk_lambda::Client::publish_version)
        .sequence()
        .http_status(400, error_body("InvalidParameterValueException", "bad"))
        .repeatedly()
        .build();
    let lambda = Resilient::new(SdkLambda::with_client(lambda_mock!([&rule])), TokioClock);
    assert!(matches!(
        lambda.publish_version(ARN, None).await,
        Err(LambdaError::InvalidRequest { .. })
    ));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn resilient_fails_at_once_on_a_permanent_502() {
    let rule = mock!(aws_sdk_lambda::Client::invoke)
        .sequence()
        .http_status(502, error_body("KMSDisabledException", "key disabled"))
        .repeatedly()
        .build();
    let lambda = Resilient::new(SdkLambda::with_client(lambda_mock!([&rule])), TokioClock);
    let error = lambda
        .invoke(
            InvokeRequest::new(ARN, Some("1"), b"{}"),
            InvokeOptions::default(),
        )
        .await
        .expect_err("permanent");
    assert_eq!(error.to_string(), "KMSDisabledException: key disabled");
    assert_eq!(rule.num_calls(), 1, "no retry");
}

#[tokio::test]
async fn s3_payloads_map_statuses() {
    let ok = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.bucket() == Some("b") && r.key() == Some("ok.json"))
        .then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from_static(b"{\"a\":1}"))
                .build()
        });
    let denied = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some("denied"))
        .sequence()
        .http_status(
            403,
            Some("<Error><Code>AccessDenied</Code><Message>no</Message></Error>".into()),
        )
        .build();
    let missing = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some("missing"))
        .sequence()
        .http_status(
            404,
            Some("<Error><Code>NoSuchKey</Code><Message>none</Message></Error>".into()),
        )
        .build();
    let odd = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some("odd"))
        .sequence()
        .http_status(
            400,
            Some(
                "<Error><Code>InvalidRequest</Code><Message>weird request</Message></Error>".into(),
            ),
        )
        .build();
    let s3 = S3Payloads::with_client(mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&ok, &denied, &missing, &odd]
    ));
    assert_eq!(s3.fetch("b", "ok.json").await.expect("body"), b"{\"a\":1}");
    assert_eq!(
        s3.fetch("b", "denied").await,
        Err(PayloadSourceError::AccessDenied)
    );
    assert_eq!(
        s3.fetch("b", "missing").await,
        Err(PayloadSourceError::NotFound)
    );
    assert_eq!(
        s3.fetch("b", "odd").await,
        Err(PayloadSourceError::Other("weird request".into()))
    );
}

/// A local Lambda endpoint answering every `Invoke` with `size` bytes; counts connections.
async fn big_responses(size: usize) -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let counter = connections.clone();
    let listener = axum::serve::ListenerExt::tap_io(listener, move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let app = axum::Router::new().fallback(move || async move {
        (
            [
                ("content-type", "application/json"),
                ("x-amz-executed-version", "1"),
            ],
            vec![b'x'; size],
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, connections)
}

/// SPEC §14: an Executor keeps a response's first 64 KiB unless a post-processor needs it
/// whole; the rest is read off the connection, which is then reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_kept_to_their_head_unless_asked_whole() {
    const CUT: u64 = 8;
    let (url, connections) = big_responses(3 * 1024 * 1024).await;
    let config = power_tuning_aws::config::local_config(&url);
    let lambda = SdkLambda::new(&config);
    for _ in 0..CUT {
        let head = lambda
            .invoke(
                InvokeRequest::new(ARN, Some("1"), b"{}"),
                InvokeOptions::default(),
            )
            .await
            .expect("invoke");
        assert_eq!(head.payload.len(), power_tuning_core::ports::RESPONSE_HEAD);
    }
    let whole = lambda
        .invoke(
            InvokeRequest::new(ARN, Some("1"), b"{}"),
            InvokeOptions {
                tail_logs: false,
                whole_response: true,
            },
        )
        .await
        .expect("invoke");
    assert_eq!(whole.payload.len(), 3 * 1024 * 1024);
    // The cut responses are read to their end, so their connections go back to the pool and
    // are reused (a body left unread would cost a connection per request: 9). The pool races
    // a new connection against waiting for an idle one, so on a loopback a request now and
    // then gets a second connection; never one each.
    let opened = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=CUT / 2).contains(&opened), "{opened} connections");
}

/// A local endpoint that answers one `InvokeWithResponseStream` with the head of an event
/// stream and part of its first frame, then closes the connection (no last chunk).
async fn cut_stream() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        // The request: its head, then its 2-byte body `{}`.
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.ends_with(b"\r\n\r\n{}") {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        // A prelude announcing a 100-byte message, of which 10 bytes arrive.
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\nx-amz-executed-version: 1\r\ntransfer-encoding: chunked\r\n\r\na\r\n";
        let mut answer = head.as_bytes().to_vec();
        answer.extend_from_slice(&[0, 0, 0, 100, 0, 0, 0, 20, 1, 2]);
        answer.extend_from_slice(b"\r\n");
        let _ = socket.write_all(&answer).await;
        let _ = socket.shutdown().await;
    });
    url
}

/// SPEC §14: a response stream cut mid-frame (the function was invoked, its answer had
/// begun) is that invocation's StreamIncomplete, with the reason; never a transport error
/// that a retry would answer by running the function again.
#[tokio::test]
async fn a_stream_cut_mid_frame_is_incomplete_not_retried() {
    let url = cut_stream().await;
    let config = power_tuning_aws::config::local_config(&url);
    let lambda = SdkLambda::new(&config);
    let streamed = lambda
        .invoke_streaming(InvokeRequest::new(ARN, Some("1"), b"{}"))
        .await
        .expect("an answer, not an error");
    assert!(!streamed.completed);
    let broken = streamed.broken.expect("why it ended");
    assert!(
        broken.starts_with(&format!("reading the response stream of {ARN}: ")),
        "{broken}"
    );
    assert_eq!(streamed.response_bytes, 0);
}
