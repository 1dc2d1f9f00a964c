//! A function's CloudWatch history written into the local stack's moto: the daily
//! `AWS/Lambda` metrics Lambda publishes for a function and the `AWS/Logs` `IncomingBytes` of
//! its log group (CloudWatch User Guide, "Types of metrics for Lambda functions"; CloudWatch
//! Logs User Guide, "Monitoring with CloudWatch metrics"), so that traffic from history
//! (SPEC §15) can be shown and tested without an AWS account. Each day is one datapoint half a
//! day into it, with `PutMetricData` through the SDK.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_smithy_types::DateTime;

use power_tuning_core::traffic::window::DAY;

use crate::error::CliError;

/// One day of a function's traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    /// How many days before now it ended (0: the last 24 hours).
    pub days_ago: i64,
    /// Invocations.
    pub invocations: f64,
    /// Their average duration (ms).
    pub average_duration_ms: f64,
    /// Errors.
    pub errors: f64,
    /// Throttles.
    pub throttles: f64,
    /// Peak concurrent executions.
    pub concurrency: f64,
    /// Bytes the log group took in.
    pub log_bytes: f64,
}

/// Writes `days` of `function`'s history (its log group: `log_group`) into the CloudWatch at
/// `endpoint`, dated from `now` (seconds since the epoch).
pub async fn seed(
    endpoint: &str,
    function: &str,
    log_group: &str,
    now: i64,
    days: &[Day],
) -> Result<(), CliError> {
    let client = aws_sdk_cloudwatch::Client::new(&power_tuning_aws::config::local_config(endpoint));
    let mut lambda = Vec::new();
    let mut logs = Vec::new();
    for day in days {
        let at = DateTime::from_secs(now - day.days_ago * DAY - DAY / 2);
        let datum = |name: &str, value: &str, metric: &str, unit: StandardUnit| {
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(Dimension::builder().name(name).value(value).build())
                .timestamp(at)
                .unit(unit)
        };
        let count = |metric: &str, value: f64| {
            datum("FunctionName", function, metric, StandardUnit::Count)
                .value(value)
                .build()
        };
        lambda.push(count("Invocations", day.invocations));
        lambda.push(count("Errors", day.errors));
        lambda.push(count("Throttles", day.throttles));
        lambda.push(count("ConcurrentExecutions", day.concurrency));
        lambda.push(
            datum(
                "FunctionName",
                function,
                "Duration",
                StandardUnit::Milliseconds,
            )
            .statistic_values(
                StatisticSet::builder()
                    .sample_count(day.invocations)
                    .sum(day.average_duration_ms * day.invocations)
                    .minimum(day.average_duration_ms)
                    .maximum(day.average_duration_ms)
                    .build(),
            )
            .build(),
        );
        logs.push(
            datum(
                "LogGroupName",
                log_group,
                "IncomingBytes",
                StandardUnit::Bytes,
            )
            .value(day.log_bytes)
            .build(),
        );
    }
    for (namespace, data) in [("AWS/Lambda", lambda), ("AWS/Logs", logs)] {
        // PutMetricData takes at most 1000 datums a call.
        for chunk in data.chunks(1000) {
            client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    CliError::Aws(format!(
                        "PutMetricData failed: {}",
                        power_tuning_aws::errors::display_chain(&e)
                    ))
                })?;
        }
    }
    Ok(())
}
