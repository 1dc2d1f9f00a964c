//! The local Step Functions engine: `moto_server` (DESIGN §3) with real execution switched on,
//! sending its Lambda task calls to the emulator (`MOTO_PORT`).

use std::process::Stdio;
use std::time::Duration;

use crate::tools::{self, ToolError};

/// A running moto server.
pub struct MotoServer {
    child: tokio::process::Child,
    endpoint: String,
}

/// Starting moto failed.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// Installing it failed.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// Starting or configuring it failed.
    #[error("the local Step Functions engine (moto) {0}")]
    Start(String),
}

/// A free port on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl MotoServer {
    /// Starts moto; its Lambda tasks call `http://localhost:<lambda_port>`.
    pub async fn start(lambda_port: u16) -> Result<MotoServer, MotoError> {
        let server = tools::moto_server().await?;
        let port = free_port().map_err(|e| MotoError::Start(format!("found no free port: {e}")))?;
        let verbose = std::env::var_os("POWER_TUNING_DEBUG").is_some();
        let child = tokio::process::Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", lambda_port.to_string())
            .env("AWS_ACCESS_KEY_ID", "ak")
            .env("AWS_SECRET_ACCESS_KEY", "sk")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            // moto prints Python tracebacks when an execution ends in a Fail state: noise.
            .stderr(if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                MotoError::Start(format!("could not start ({}): {e}", server.display()))
            })?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut moto = MotoServer { child, endpoint };
        moto.configure().await?;
        Ok(moto)
    }

    async fn configure(&mut self) -> Result<(), MotoError> {
        // moto is on this machine: never through a proxy.
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| MotoError::Start(format!("no HTTP client: {e}")))?;
        let url = format!("{}/moto-api/config", self.endpoint);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(MotoError::Start(format!(
                    "exited at start ({status}); set POWER_TUNING_DEBUG=1 to see why"
                )));
            }
            let sent = client
                .post(&url)
                .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    return Err(MotoError::Start(format!(
                        "refused its configuration: HTTP {}",
                        response.status()
                    )));
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => return Err(MotoError::Start(format!("did not start within 60 s: {e}"))),
            }
        }
    }

    /// The Step Functions endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
