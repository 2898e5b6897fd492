//! The cluster object (settings, join tokens) and networks.

use api::control as pc;
use store::{Object, Store};
use types::Cluster;

use super::error::ApiError;
use security::{new_join_token, RootCa};

pub fn get(store: &Store) -> Result<Cluster, ApiError> {
    store.view(|t| t.cluster().cloned()).ok_or_else(|| {
        ApiError::FailedPrecondition(
            "this manager has no cluster yet; it is still starting or joining, retry in a moment"
                .into(),
        )
    })
}

/// Replaces the chosen join tokens; nodes already in the cluster are unaffected, a node joining
/// with a rotated-out token is refused.
pub async fn rotate_join_tokens(
    store: &Store,
    req: pc::RotateJoinTokenRequest,
) -> Result<Cluster, ApiError> {
    if !req.worker && !req.manager {
        return Err(ApiError::InvalidArgument(
            "nothing to rotate: ask for the worker token, the manager token, or both".into(),
        ));
    }
    store
        .update(|tables, tx| {
            let mut cluster = tables.cluster().cloned().ok_or_else(|| {
                ApiError::FailedPrecondition("this manager has no cluster yet".into())
            })?;
            let digest = RootCa::digest_of_pem(&cluster.root_ca.cert_pem)
                .map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
            if req.worker {
                cluster.join_tokens.worker = new_join_token(&digest);
            }
            if req.manager {
                cluster.join_tokens.manager = new_join_token(&digest);
            }
            tx.update(Object::Cluster(cluster));
            Ok::<_, ApiError>(())
        })
        .await?;
    get(store)
}

/// A certificate for remote control (`swarmctl -H`) for the key whose CSR is given.
pub fn issue_client_certificate(
    store: &Store,
    csr: &str,
) -> Result<pc::IssueClientCertificateResponse, tonic::Status> {
    let name = format!("client-{}", types::new_id());
    let issued = crate::membership::issuer::issue(store, csr, &name, security::CertRole::Client)?;
    tracing::info!(client = %name, "issued a client certificate");
    Ok(pc::IssueClientCertificateResponse {
        certificate: issued.certificate,
        ca_certificate: issued.ca_certificate,
    })
}
