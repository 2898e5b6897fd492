//! Admission into a cluster, the joining node's side of `Membership.Join`.
//!
//! The manager is trusted only if the CA it presents has the digest in the join token, checked
//! inside the TLS handshake before the token's secret travels; the node then sends a CSR and
//! receives its certificate. Used by swarmd and by tools that simulate nodes.

use std::sync::Arc;
use std::time::Duration;

use api::dispatcher::membership_client::MembershipClient;
use security::{
    new_key_and_csr, NodeCredentials, PeerIdentity, PinnedCaVerifier, RootCa, SecurityError,
    TlsConnector, MANAGER_NAME,
};
use types::Redacted;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Who the node is to describe itself as.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The manager to ask, `IP:PORT`.
    pub manager: String,
    pub token: String,
    pub hostname: String,
    pub advertise_addr: String,
    pub listen_addr: String,
}

/// What the cluster gave the node.
pub struct Admitted {
    pub node_id: String,
    pub cluster_id: String,
    /// Non-zero when the token made the node a manager.
    pub raft_id: u64,
    pub managers: Vec<String>,
    /// The node's identity as its certificate states it.
    pub issued: PeerIdentity,
    pub ca_certificate: String,
    pub certificate: String,
    pub key: Redacted,
    pub credentials: Arc<NodeCredentials>,
}

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("the join token is malformed: {0}")]
    Malformed(String),
    #[error("refusing to join {0}: its CA does not match the CA digest in the join token (a token of another cluster, or not a genuine manager); the token was not sent")]
    CaMismatch(String),
    #[error("cannot reach the manager at {addr} ({cause}); check --join-addr and that the manager is running")]
    Unreachable { addr: String, cause: String },
    #[error("joining the cluster at {addr} was refused: {message}")]
    Refused { addr: String, message: String },
    #[error("the manager at {addr} answered wrongly: {why}; not joining")]
    BadAnswer { addr: String, why: String },
    #[error(transparent)]
    Security(#[from] SecurityError),
}

pub async fn join(req: JoinRequest) -> Result<Admitted, JoinError> {
    let addr = req.manager.clone();
    let parsed =
        security::parse_join_token(&req.token).map_err(|e| JoinError::Malformed(e.to_string()))?;
    let digest = parsed.digest.to_string();
    let verifier = PinnedCaVerifier::new(&digest);
    let connector = TlsConnector::new(verifier.client_config()?, MANAGER_NAME)?;
    let channel = security::transport::endpoint(&addr)?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(JOIN_TIMEOUT)
        .connect_with_connector(connector)
        .await
        .map_err(|e| {
            if verifier.saw_mismatch() {
                JoinError::CaMismatch(addr.clone())
            } else {
                JoinError::Unreachable {
                    addr: addr.clone(),
                    cause: root_cause(&e),
                }
            }
        })?;
    let (key, csr) = new_key_and_csr()?;
    let reply = MembershipClient::new(channel)
        .join(api::dispatcher::JoinRequest {
            token: req.token,
            hostname: req.hostname,
            advertise_addr: req.advertise_addr,
            listen_addr: req.listen_addr,
            description: None,
            node_id: String::new(),
            csr,
        })
        .await
        .map_err(|s| JoinError::Refused {
            addr: addr.clone(),
            message: s.message().to_string(),
        })?
        .into_inner();
    let bad = |why: &str| JoinError::BadAnswer {
        addr: addr.clone(),
        why: why.to_string(),
    };
    if RootCa::digest_of_pem(&reply.ca_certificate)? != digest {
        return Err(bad("its CA does not match the join token"));
    }
    let issued = security::verify_issued(&reply.certificate, &reply.ca_certificate)?;
    if issued.node_id != reply.node_id {
        return Err(bad("it issued a certificate for another node"));
    }
    let credentials = NodeCredentials::new(&reply.ca_certificate, &reply.certificate, &key)?;
    Ok(Admitted {
        node_id: reply.node_id,
        cluster_id: reply.cluster_id,
        raft_id: reply.raft_id,
        managers: reply.managers,
        issued,
        ca_certificate: reply.ca_certificate,
        certificate: reply.certificate,
        key,
        credentials,
    })
}

/// The innermost error: transport errors wrap the OS or TLS error several times over.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
