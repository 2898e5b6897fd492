//! Who may call what, decided from the peer's verified certificate.
//!
//! Each gRPC service is wrapped in an [`Authorizer`] (a tonic interceptor) naming the roles it
//! admits; a node's certificate is honoured only while the node is still in the cluster. The
//! peer's identity is left in the request's extensions for services that check more (the
//! dispatcher: a node speaks only for itself).

use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::certificate::{parse_certificate, CertRole, PeerIdentity};

/// Whether a node ID is (still) a member of the cluster, answered from the local store.
pub type MemberCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The identity in the peer's certificate. The TLS layer has verified the chain against the
/// cluster CA; this only reads it.
pub fn peer_identity<T>(request: &Request<T>) -> Result<PeerIdentity, Status> {
    if let Some(peer) = request.extensions().get::<PeerIdentity>() {
        return Ok(peer.clone());
    }
    let certs = request.peer_certs().ok_or_else(|| {
        Status::unauthenticated("this API needs a certificate issued by this cluster")
    })?;
    let leaf = certs.first().ok_or_else(|| {
        Status::unauthenticated("this API needs a certificate issued by this cluster")
    })?;
    parse_certificate(leaf).map_err(|e| Status::unauthenticated(e.to_string()))
}

/// Admits callers whose certificate has one of `roles` (and, for nodes, who are members).
#[derive(Clone)]
pub struct Authorizer {
    /// What the service is called in refusals ("the raft API").
    api: &'static str,
    roles: &'static [CertRole],
    members: Option<MemberCheck>,
}

impl Authorizer {
    pub fn new(api: &'static str, roles: &'static [CertRole]) -> Authorizer {
        Authorizer {
            api,
            roles,
            members: None,
        }
    }

    /// Refuses nodes that `members` does not know (removed from the cluster).
    pub fn members(mut self, members: MemberCheck) -> Authorizer {
        self.members = Some(members);
        self
    }

    pub fn check(&self, peer: &PeerIdentity) -> Result<(), Status> {
        if !self.roles.contains(&peer.role) {
            return Err(Status::permission_denied(format!(
                "{} is not open to {} certificates",
                self.api, peer.role
            )));
        }
        let node = matches!(peer.role, CertRole::Manager | CertRole::Worker);
        if let (true, Some(members)) = (node, &self.members) {
            if !members(&peer.node_id) {
                return Err(Status::permission_denied(format!(
                    "node {} is not a member of this cluster (removed?)",
                    peer.node_id
                )));
            }
        }
        Ok(())
    }
}

impl Interceptor for Authorizer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let peer = peer_identity(&request)?;
        self.check(&peer)?;
        request.extensions_mut().insert(peer);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn peer(id: &str, role: CertRole) -> PeerIdentity {
        PeerIdentity {
            node_id: id.into(),
            role,
            not_before: SystemTime::now(),
            not_after: SystemTime::now(),
        }
    }

    #[test]
    fn roles_and_membership_decide() {
        let raft = Authorizer::new("the raft API", &[CertRole::Manager])
            .members(Arc::new(|id: &str| id == "m1"));
        assert!(raft.check(&peer("m1", CertRole::Manager)).is_ok());
        let e = raft.check(&peer("w1", CertRole::Worker)).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(e.message().contains("swarm-worker"), "{}", e.message());
        let e = raft.check(&peer("gone", CertRole::Manager)).unwrap_err();
        assert!(e.message().contains("not a member"), "{}", e.message());
        let control = Authorizer::new("the control API", &[CertRole::Manager, CertRole::Client])
            .members(Arc::new(|_: &str| false));
        assert!(control.check(&peer("admin", CertRole::Client)).is_ok());
    }

    #[test]
    fn a_request_without_a_certificate_is_unauthenticated() {
        let mut raft = Authorizer::new("the raft API", &[CertRole::Manager]);
        let e = raft.call(Request::new(())).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
    }
}
