//! [`PayloadSource`] on aws-sdk-s3.

use aws_config::SdkConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use power_tuning_core::ports::{PayloadSource, PayloadSourceError};

use crate::config::endpoint_override;
use crate::errors::display_chain;

/// Reads `payloadS3` objects.
#[derive(Debug, Clone)]
pub struct S3Payloads {
    client: aws_sdk_s3::Client,
}

impl S3Payloads {
    /// An S3 client from the shared configuration; path-style addressing when the endpoint is
    /// overridden (local S3 servers do not resolve bucket subdomains).
    pub fn new(config: &SdkConfig) -> Self {
        let mut builder = aws_sdk_s3::config::Builder::from(config);
        if let Some(url) = endpoint_override("S3") {
            builder = builder.endpoint_url(url).force_path_style(true);
        }
        S3Payloads {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
        }
    }

    /// Wraps an existing client (tests).
    pub fn with_client(client: aws_sdk_s3::Client) -> Self {
        S3Payloads { client }
    }
}

impl PayloadSource for S3Payloads {
    async fn fetch(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PayloadSourceError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| match &error {
                SdkError::ServiceError(context) => match context.raw().status().as_u16() {
                    403 => PayloadSourceError::AccessDenied,
                    404 => PayloadSourceError::NotFound,
                    _ => PayloadSourceError::Other(
                        context
                            .err()
                            .message()
                            .map(str::to_string)
                            .unwrap_or_else(|| display_chain(&error)),
                    ),
                },
                _ => PayloadSourceError::Other(display_chain(&error)),
            })?;
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| PayloadSourceError::Other(display_chain(&e)))?;
        Ok(body.into_bytes().to_vec())
    }
}
