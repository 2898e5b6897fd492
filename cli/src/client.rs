//! Connecting to a manager's control API over its unix socket or TCP, and turning gRPC
//! failures into the messages users read.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use api::control::control_client::ControlClient;
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

pub const DEFAULT_SOCKET: &str = "/var/lib/swarmd/swarmd.sock";
/// Response metadata the manager sets to its own node ID.
pub const NODE_ID_METADATA: &str = "swarm-node-id";

pub type Control = ControlClient<Channel>;

/// Where the manager is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Socket(PathBuf),
    Tcp(String),
}

pub async fn connect(target: &Target) -> Result<Control> {
    let channel = match target {
        Target::Tcp(addr) => Endpoint::from_shared(format!("http://{addr}"))
            .with_context(|| format!("--host `{addr}` is not IP:PORT"))?
            .connect()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot connect to the manager at {addr} ({}); is swarmd running there?",
                    root_cause(&e)
                )
            })?,
        Target::Socket(path) => {
            let path = path.clone();
            let shown = path.display().to_string();
            // The URI is required by the API but unused: every connection goes to the socket.
            Endpoint::from_static("http://swarmd.sock")
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await
                .map_err(|e| {
                    anyhow!(
                        "cannot connect to swarmd at {shown} ({}); is it running? (set --socket, SWARMCTL_SOCKET or --host)",
                        root_cause(&e)
                    )
                })?
        }
    };
    Ok(ControlClient::new(channel))
}

/// The innermost error: transport errors wrap the OS error several times over.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A gRPC failure as the user should read it: the manager's message, which names the problem
/// and the fix, with a word on what kind of failure it was when that helps.
pub fn status_error(status: Status) -> anyhow::Error {
    let message = status.message().to_string();
    match status.code() {
        Code::Unavailable if message.is_empty() => {
            anyhow!("the manager is unavailable; retry once it is up")
        }
        Code::Unimplemented => anyhow!("the manager does not support this request: {message}"),
        _ if message.is_empty() => anyhow!("request failed: {}", status.code()),
        _ => anyhow!(message),
    }
}

/// Extension for results of gRPC calls.
pub trait StatusExt<T> {
    fn or_status(self) -> Result<T>;
}

impl<T> StatusExt<T> for std::result::Result<tonic::Response<T>, Status> {
    fn or_status(self) -> Result<T> {
        self.map(tonic::Response::into_inner).map_err(status_error)
    }
}

/// The ID of the node that answered a response, when the manager said.
pub fn answering_node<T>(response: &tonic::Response<T>) -> Option<String> {
    response
        .metadata()
        .get(NODE_ID_METADATA)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_messages_are_passed_through() {
        let e = status_error(Status::invalid_argument("invalid spec.name: empty"));
        assert_eq!(e.to_string(), "invalid spec.name: empty");
        let e = status_error(Status::unavailable(""));
        assert!(e.to_string().contains("unavailable"));
    }
}
