//! The lean signed `Invoke` against the SDK's own `Invoke`, on the wire.
//!
//! A local HTTP server records every request as it arrived and checks its SigV4 signature:
//! it signs the received method, path, query, signed headers and body again (aws-sigv4, the
//! credential scope and `X-Amz-Date` of the request) and compares. The SDK's requests pass that
//! check, which shows the verifier computes what AWS computes from the SDK; the lean path's
//! requests must pass it too, and must carry the same operation (method, path, query, body,
//! invocation and log type, content type, session token) and give the same outputs and errors.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::date_time::{DateTime, Format};
use aws_smithy_types::retry::RetryConfig;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use power_tuning_aws::SdkLambda;
use power_tuning_core::ports::{InvokeOutput, LambdaApi, LambdaError};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "session/token+with=odd&chars";
const REGION: &str = "eu-west-1";
const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:target";

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Answers as Lambda does: the payload back with the version and a log tail; errors by name.
fn respond(uri: &Uri, body: &[u8]) -> Response {
    let path = uri.path();
    let qualifier = uri
        .query()
        .and_then(|q| q.strip_prefix("Qualifier="))
        .map(|q| {
            percent_encoding::percent_decode_str(q)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "$LATEST".to_string());
    if path.contains("missing") {
        let mut response = (
            StatusCode::NOT_FOUND,
            r#"{"Type":"User","Message":"Function not found: arn:aws:lambda:eu-west-1:123456789012:function:missing:7"}"#,
        )
            .into_response();
        response.headers_mut().insert(
            "x-amzn-errortype",
            "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awsgirapi/"
                .parse()
                .expect("header"),
        );
        return response;
    }
    if path.contains("throttled") {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded.","__type":"TooManyRequestsException"}"#,
        )
            .into_response();
    }
    let mut response = (StatusCode::OK, body.to_vec()).into_response();
    let headers = response.headers_mut();
    headers.insert("x-amz-executed-version", qualifier.parse().expect("header"));
    headers.insert(
        "x-amz-log-result",
        "UkVQT1JUIER1cmF0aW9uOiAxIG1z".parse().expect("header"),
    );
    if body.windows(4).any(|w| w == b"fail") {
        headers.insert("x-amz-function-error", "Unhandled".parse().expect("header"));
    }
    response
}

async fn server() -> (String, Log) {
    let log: Log = Arc::default();
    let recorded = log.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let recorded = recorded.clone();
            async move {
                let mut names: Vec<(String, String)> = headers
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_string(),
                            v.to_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                names.sort();
                recorded.lock().expect("log").push(Received {
                    method: method.to_string(),
                    path_and_query: uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default(),
                    headers: names,
                    body: body.to_vec(),
                });
                respond(&uri, &body)
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), log)
}

fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            AKID,
            SECRET,
            Some(TOKEN.to_string()),
            None,
            "test",
        )))
        .http_client(power_tuning_aws::config::http_client())
        .retry_config(RetryConfig::disabled())
        .build()
}

/// `20261202T162630Z` → the time it names.
fn amz_date(value: &str) -> SystemTime {
    let b = value.as_bytes();
    assert_eq!(b.len(), 16, "x-amz-date {value}");
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &value[0..4],
        &value[4..6],
        &value[6..8],
        &value[9..11],
        &value[11..13],
        &value[13..15]
    );
    SystemTime::try_from(DateTime::from_str(&iso, Format::DateTime).expect("date")).expect("time")
}

/// Signs the received request again from what arrived and compares the signatures.
fn verify(request: &Received) -> Result<(), String> {
    let authorization = request
        .header("authorization")
        .ok_or("no Authorization header")?;
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .ok_or_else(|| format!("not SigV4: {authorization}"))?;
    let mut parts = rest.split(", ");
    let scope = parts.next().ok_or("no scope")?;
    let signed = parts
        .next()
        .and_then(|p| p.strip_prefix("SignedHeaders="))
        .ok_or("no SignedHeaders")?;
    let signature = parts
        .next()
        .and_then(|p| p.strip_prefix("Signature="))
        .ok_or("no Signature")?;
    let scope: Vec<&str> = scope.split('/').collect();
    let [akid, _day, region, service, "aws4_request"] = scope[..] else {
        return Err(format!("bad scope {scope:?}"));
    };
    if akid != AKID || region != REGION || service != "lambda" {
        return Err(format!("signed by {akid} for {service} in {region}"));
    }
    let time = amz_date(request.header("x-amz-date").ok_or("no X-Amz-Date")?);
    let names: Vec<&str> = signed.split(';').collect();
    let headers = request
        .headers
        .iter()
        .filter(|(n, _)| names.contains(&n.as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()));
    let host = request.header("host").ok_or("no Host")?;
    let uri = format!("http://{host}{}", request.path_and_query);
    let identity: Identity =
        Credentials::new(AKID, SECRET, Some(TOKEN.to_string()), None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        &request.method,
        uri,
        headers,
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| e.to_string())?;
    let (_, expected) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    if expected == signature {
        Ok(())
    } else {
        Err(format!(
            "signature {signature}, expected {expected} for {request:?}"
        ))
    }
}

/// The operation's parts of a request: what both paths must send alike.
fn operation(request: &Received) -> Vec<String> {
    let mut parts = vec![request.method.clone(), request.path_and_query.clone()];
    for name in [
        "content-type",
        "content-length",
        "x-amz-invocation-type",
        "x-amz-log-type",
        "x-amz-security-token",
    ] {
        parts.push(format!("{name}: {:?}", request.header(name)));
    }
    parts.push(String::from_utf8_lossy(&request.body).into_owned());
    parts
}

#[tokio::test]
async fn lean_invokes_are_signed_and_answered_as_the_sdk_does() {
    let (endpoint, log) = server().await;
    let config = sdk_config(&endpoint);
    let lean = SdkLambda::new(&config);
    let sdk = SdkLambda::with_client(aws_sdk_lambda::Client::new(&config));
    let cases: [(&str, Option<&str>, &[u8], bool); 4] = [
        (ARN, Some("7"), br#"{"key":"value"}"#, true),
        (ARN, Some("$LATEST"), b"null", false),
        (ARN, None, br#""fail""#, true),
        ("target", Some("12"), b"", true),
    ];
    for (function, qualifier, payload, tail) in cases {
        let from_sdk = sdk.invoke(function, qualifier, payload, tail).await;
        let from_lean = lean.invoke(function, qualifier, payload, tail).await;
        assert_eq!(from_lean, from_sdk, "{function} {qualifier:?}");
        let output: InvokeOutput = from_lean.expect("invoked");
        assert_eq!(output.payload, payload);
        assert_eq!(
            output.executed_version.as_deref(),
            Some(qualifier.unwrap_or("$LATEST"))
        );
        assert!(output.log_result.is_some());
    }
    let received = log.lock().expect("log").clone();
    assert_eq!(received.len(), 8);
    for pair in received.chunks(2) {
        let [by_sdk, by_lean] = pair else {
            unreachable!("pairs")
        };
        verify(by_sdk).unwrap_or_else(|e| panic!("the SDK's request fails the check: {e}"));
        verify(by_lean).unwrap_or_else(|e| panic!("the lean request fails the check: {e}"));
        assert_eq!(operation(by_lean), operation(by_sdk));
        assert!(
            by_lean.path_and_query.starts_with("/2015-03-31/functions/"),
            "{by_lean:?}"
        );
    }
    // The ARN's colons are encoded in the path (and signed double-encoded, as the SDK does).
    assert!(received[1].path_and_query.contains("arn%3Aaws%3Alambda"));
}

#[tokio::test]
async fn the_verifier_rejects_a_request_changed_after_signing() {
    let (endpoint, log) = server().await;
    let lean = SdkLambda::new(&sdk_config(&endpoint));
    lean.invoke(ARN, Some("7"), b"{}", true)
        .await
        .expect("invoked");
    let request = log.lock().expect("log")[0].clone();
    verify(&request).expect("as sent");
    let mut other_version = request.clone();
    other_version.path_and_query = other_version.path_and_query.replace("=7", "=8");
    assert!(verify(&other_version).is_err());
    let mut other_body = request.clone();
    other_body.body = b"{\"x\":1}".to_vec();
    assert!(verify(&other_body).is_err());
    let mut other_log_type = request;
    for (name, value) in &mut other_log_type.headers {
        if name == "x-amz-log-type" {
            *value = "None".to_string();
        }
    }
    assert!(verify(&other_log_type).is_err());
}

#[tokio::test]
async fn lean_errors_are_classified_as_the_sdk_classifies_them() {
    let (endpoint, _log) = server().await;
    let config = sdk_config(&endpoint);
    let lean = SdkLambda::new(&config);
    let sdk = SdkLambda::with_client(aws_sdk_lambda::Client::new(&config));
    let mut results = Vec::new();
    for function in [
        "arn:aws:lambda:eu-west-1:123456789012:function:missing",
        "arn:aws:lambda:eu-west-1:123456789012:function:throttled",
    ] {
        let from_sdk = sdk.invoke(function, Some("7"), b"{}", true).await;
        let from_lean = lean.invoke(function, Some("7"), b"{}", true).await;
        assert_eq!(from_lean, from_sdk, "{function}");
        results.push(from_lean);
    }
    let [missing, throttled] = &results[..] else {
        unreachable!("two functions")
    };
    assert!(matches!(missing, Err(LambdaError::NotFound(m)) if m.contains("Function not found")));
    assert_eq!(
        throttled,
        &Err(LambdaError::Throttled("Rate Exceeded.".to_string()))
    );
    // Nothing listens: a transport error, which the core retries.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        format!("http://{address}")
    };
    let nowhere = SdkLambda::new(&sdk_config(&closed));
    let refused = nowhere.invoke(ARN, Some("7"), b"{}", true).await;
    assert!(
        matches!(&refused, Err(e @ LambdaError::Transport(_)) if e.is_transient()),
        "{refused:?}"
    );
}
