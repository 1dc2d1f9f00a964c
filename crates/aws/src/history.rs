//! [`HistorySource`] on the SDK (SPEC §15): `GetFunctionConfiguration` (aws-sdk-lambda), one
//! `GetMetricData` (aws-sdk-cloudwatch), and the Logs Insights query (aws-sdk-cloudwatchlogs),
//! all in the function's region. The SDK's standard retries apply (these calls are read-only
//! and not paced against the tuner's control-plane budget).
//!
//! IAM: `lambda:GetFunctionConfiguration`, `cloudwatch:GetMetricData`, `logs:StartQuery`,
//! `logs:GetQueryResults`, `logs:StopQuery`.

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_sdk_cloudwatchlogs::types::QueryStatus as SdkQueryStatus;
use aws_smithy_types::DateTime;
use power_tuning_core::architecture::Architecture;
use power_tuning_core::arn::region_of;
use power_tuning_core::traffic::metrics::{METRIC_QUERIES, MetricSeries, Subject};
use power_tuning_core::traffic::window::{DAY, Window};
use power_tuning_core::traffic::{
    FunctionFacts, HistoryError, HistorySource, QueryAnswer, QueryStatus,
};

use crate::config::retry_config;
use crate::errors::display_chain;

/// Pages of one `GetMetricData` answer read at most (a 455-day window of seven daily series
/// is one page: 3185 of the 100,800 datapoints a page holds).
const MAX_PAGES: usize = 20;

/// The history of functions in one region.
#[derive(Debug, Clone)]
pub struct SdkHistory {
    lambda: aws_sdk_lambda::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl SdkHistory {
    /// Clients for `function`'s region: the ARN's when it is one, else the configuration's.
    pub fn for_function(config: &SdkConfig, function: &str) -> SdkHistory {
        let region = region_of(function).map(|r| aws_config::Region::new(r.to_string()));
        let region = region.or_else(|| config.region().cloned());
        SdkHistory {
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(config)
                    .region(region.clone())
                    .retry_config(retry_config())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(config)
                    .region(region.clone())
                    .retry_config(retry_config())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(config)
                    .region(region)
                    .retry_config(retry_config())
                    .build(),
            ),
        }
    }
}

fn api<E: std::error::Error>(operation: &'static str) -> impl Fn(E) -> HistoryError {
    move |e| HistoryError::Api {
        operation,
        message: display_chain(&e),
    }
}

/// One metric query of the call, about the function or its log group.
fn query(
    q: &power_tuning_core::traffic::metrics::MetricQuery,
    function: &str,
    log_group: &str,
) -> MetricDataQuery {
    let (name, value) = match q.subject {
        Subject::Function => ("FunctionName", function),
        Subject::LogGroup => ("LogGroupName", log_group),
    };
    let metric = Metric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric)
        .dimensions(Dimension::builder().name(name).value(value).build())
        .build();
    MetricDataQuery::builder()
        .id(q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(DAY as i32)
                .stat(q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

impl HistorySource for SdkHistory {
    async fn function(&self, function: &str) -> Result<FunctionFacts, HistoryError> {
        let out = self
            .lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(api("GetFunctionConfiguration"))?;
        let name = out.function_name().unwrap_or(function).to_string();
        let region = out
            .function_arn()
            .and_then(region_of)
            .map(str::to_string)
            .or_else(|| self.lambda.config().region().map(|r| r.to_string()))
            .unwrap_or_default();
        let architecture = match out.architectures().first() {
            Some(arch) => arch.as_str().parse::<Architecture>()?,
            None => Architecture::X86_64,
        };
        let logging = out.logging_config();
        Ok(FunctionFacts {
            name,
            region,
            memory_mb: out
                .memory_size()
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(128),
            architecture,
            log_group: logging.and_then(|l| l.log_group()).map(str::to_string),
            json_logs: logging
                .and_then(|l| l.log_format())
                .is_some_and(|f| f.as_str() == "JSON"),
            system_log_level: logging
                .and_then(|l| l.system_log_level())
                .map(|l| l.as_str().to_string()),
        })
    }

    async fn metric_data(
        &self,
        function_name: &str,
        log_group: &str,
        window: &Window,
    ) -> Result<Vec<MetricSeries>, HistoryError> {
        let mut series: Vec<MetricSeries> = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(
                    METRIC_QUERIES
                        .iter()
                        .map(|q| query(q, function_name, log_group))
                        .collect(),
                ))
                .start_time(DateTime::from_secs(window.start))
                .end_time(DateTime::from_secs(window.end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(api("GetMetricData"))?;
            for result in out.metric_data_results() {
                let points = result
                    .timestamps()
                    .iter()
                    .zip(result.values())
                    .map(|(t, v)| (t.secs(), *v));
                let id = result.id().unwrap_or_default();
                match series.iter_mut().find(|s| s.id == id) {
                    Some(s) => s.points.extend(points),
                    None => series.push(MetricSeries {
                        id: id.to_string(),
                        points: points.collect(),
                    }),
                }
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(series),
            }
        }
        Err(HistoryError::Api {
            operation: "GetMetricData",
            message: format!("more than {MAX_PAGES} pages of datapoints"),
        })
    }

    async fn start_query(
        &self,
        log_group: &str,
        window: &Window,
        query: &str,
    ) -> Result<String, HistoryError> {
        // StartQuery's range is inclusive at both ends, in seconds: the window is [start, end).
        let out = self
            .logs
            .start_query()
            .log_group_name(log_group)
            .start_time(window.start)
            .end_time(window.end - 1)
            .query_string(query)
            .send()
            .await
            .map_err(api("StartQuery"))?;
        out.query_id()
            .map(str::to_string)
            .ok_or_else(|| HistoryError::Api {
                operation: "StartQuery",
                message: "no queryId in the answer".to_string(),
            })
    }

    async fn query_results(&self, query_id: &str) -> Result<QueryAnswer, HistoryError> {
        let out = self
            .logs
            .get_query_results()
            .query_id(query_id)
            .send()
            .await
            .map_err(api("GetQueryResults"))?;
        let status = match out.status() {
            Some(SdkQueryStatus::Complete) => QueryStatus::Complete,
            Some(
                status @ (SdkQueryStatus::Failed
                | SdkQueryStatus::Cancelled
                | SdkQueryStatus::Timeout),
            ) => QueryStatus::Ended(status.as_str().to_string()),
            // Scheduled, Running, Unknown (and any later status): ask again.
            _ => QueryStatus::Running,
        };
        let rows = out
            .results()
            .iter()
            .map(|row| {
                row.iter()
                    .filter_map(|f| Some((f.field()?.to_string(), f.value()?.to_string())))
                    .filter(|(field, _)| field != "@ptr")
                    .collect()
            })
            .collect();
        Ok(QueryAnswer {
            status,
            rows,
            bytes_scanned: out.statistics().map(|s| s.bytes_scanned()).unwrap_or(0.0),
        })
    }

    async fn stop_query(&self, query_id: &str) -> Result<(), HistoryError> {
        self.logs
            .stop_query()
            .query_id(query_id)
            .send()
            .await
            .map(|_| ())
            .map_err(api("StopQuery"))
    }
}
