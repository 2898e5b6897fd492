//! Certificates signed by this manager with the cluster CA from the store. Every manager can
//! sign (the CA is replicated to managers through Raft), so joins and renewals do not need the
//! leader, only a store that has caught up with the cluster object.

use std::time::Duration;

use security::{CertRole, RootCa};
use store::Store;
use tonic::Status;
use types::{Node, NodeRole};

/// A signed certificate and the CA it chains to, both PEM.
pub struct Issued {
    pub certificate: String,
    pub ca_certificate: String,
}

/// Signs `csr` for `subject` with `role`, valid for the cluster's node certificate lifetime.
pub fn issue(store: &Store, csr: &str, subject: &str, role: CertRole) -> Result<Issued, Status> {
    if csr.trim().is_empty() {
        return Err(Status::invalid_argument(
            "a certificate signing request (csr) is required",
        ));
    }
    let (material, validity) = store
        .view(|t| {
            t.cluster().map(|c| {
                (
                    c.root_ca.clone(),
                    Duration::from_secs(c.spec.node_cert_validity_secs.max(1)),
                )
            })
        })
        .ok_or_else(|| Status::unavailable("the cluster is not initialized yet"))?;
    let ca =
        RootCa::from_material(&material).map_err(|e| Status::failed_precondition(e.to_string()))?;
    let certificate = ca
        .issue(csr, subject, role, validity)
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok(Issued {
        certificate,
        ca_certificate: ca.cert_pem().to_string(),
    })
}

/// The role a node's certificate carries: manager while it is one or is becoming one (so the
/// other managers' Raft accepts it as soon as it is added), worker otherwise.
pub fn certificate_role(node: &Node) -> CertRole {
    if node.role == NodeRole::Manager || node.spec.desired_role == NodeRole::Manager {
        CertRole::Manager
    } else {
        CertRole::Worker
    }
}
