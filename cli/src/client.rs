//! Connecting to a manager's control API over its unix socket or TCP, and turning gRPC
//! failures into the messages users read.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use api::control::control_client::ControlClient;
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

pub const DEFAULT_SOCKET: &str = "/var/lib/swarmd/swarmd.sock";
/// Response metadata the manager sets to its own node ID.
pub const NODE_ID_METADATA: &str = "swarm-node-id";

/// File names of the client certificate in a `--tls-dir` (`client.crt`, `client.key`).
pub const CLIENT_CERT_NAME: &str = "client";

pub type Control = ControlClient<Channel>;

/// Where the manager is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Socket(PathBuf),
    /// A manager's address, reached with mutual TLS using the client certificate in the dir.
    Tcp {
        addr: String,
        tls_dir: Option<PathBuf>,
    },
}

pub async fn connect(target: &Target) -> Result<Control> {
    let channel = match target {
        Target::Tcp { addr, tls_dir } => {
            let Some(dir) = tls_dir else {
                bail!("--host needs a client certificate issued by the cluster: run `swarmctl cluster client-cert --out DIR` on a manager, then pass --tls-dir DIR");
            };
            let files = security::CredentialFiles::new(dir, CLIENT_CERT_NAME);
            let stored = files
                .load()?
                .ok_or_else(|| anyhow!("--tls-dir {} holds no client.crt; create it with `swarmctl cluster client-cert --out {}`", dir.display(), dir.display()))?;
            let creds =
                security::NodeCredentials::new(&stored.ca_pem, &stored.cert_pem, &stored.key_pem)
                    .with_context(|| format!("the client certificate in {}", dir.display()))?;
            let connector =
                security::TlsConnector::new(creds.client_config()?, security::MANAGER_NAME)?;
            security::transport::endpoint(addr)
                .with_context(|| format!("--host `{addr}` is not IP:PORT"))?
                .connect_timeout(Duration::from_secs(5))
                .connect_with_connector(connector)
                .await
                .map_err(|e| {
                    anyhow!(
                        "cannot connect to the manager at {addr} ({}); is swarmd running there, and is the certificate in {} from this cluster?",
                        root_cause(&e),
                        dir.display()
                    )
                })?
        }
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
