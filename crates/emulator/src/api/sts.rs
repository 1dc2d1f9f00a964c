//! STS `AssumeRole` (awsQuery: a form body, an XML answer; STS API reference, `AssumeRole`):
//! throwaway credentials whose access key names the role in the call log of every call it
//! signs, and `AccessDenied` for a role a fault denies.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::service::{ACCOUNT, Shared};
use crate::ids::new_id;
use crate::lock;

/// An STS (awsQuery) error.
fn sts_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        xml_text(message),
        new_id()
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

/// Text for an XML element.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// STS `AssumeRole` (awsQuery: a form body, an XML answer): throwaway credentials whose access
/// key names the role in the call log of every call it signs.
pub(super) async fn sts(State(service): Shared, body: Bytes) -> Response {
    let form: HashMap<String, String> = url_form(&body);
    if form.get("Action").map(String::as_str) != Some("AssumeRole") {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "Only AssumeRole is emulated",
        );
    }
    let (Some(role), Some(session)) = (form.get("RoleArn"), form.get("RoleSessionName")) else {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "RoleArn and RoleSessionName are required",
        );
    };
    let denied = lock(&service.faults).denies_role(role);
    service.record(
        "AssumeRole",
        "",
        None,
        if denied {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        },
    );
    if denied {
        return sts_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!("User is not authorized to perform: sts:AssumeRole on resource: {role}"),
        );
    }
    let key_id: String = format!(
        "ASIA{}",
        new_id()
            .replace('-', "")
            .to_uppercase()
            .chars()
            .take(16)
            .collect::<String>()
    );
    lock(&service.sessions).insert(key_id.clone(), role.clone());
    let seconds: u64 = form
        .get("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(3600);
    let expiration = crate::report::iso8601(SystemTime::now() + Duration::from_secs(seconds));
    let role_name = role.rsplit('/').next().unwrap_or(role);
    let account = role.split(':').nth(4).unwrap_or(ACCOUNT);
    let body = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>emulator-{}</SecretAccessKey><SessionToken>emulator-session-for-{}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEMULATOR:{}</AssumedRoleId><Arn>arn:aws:sts::{account}:assumed-role/{}/{}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        new_id(),
        xml_text(role),
        xml_text(session),
        xml_text(role_name),
        xml_text(session),
        new_id()
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

/// A `application/x-www-form-urlencoded` body.
fn url_form(body: &[u8]) -> HashMap<String, String> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}
