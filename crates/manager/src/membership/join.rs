//! `Membership`: admits a node with a join token and gives it its certificate; renews the
//! certificate of a node that is still a member.

use api::dispatcher as pb;
use store::{Object, Store, StoreError};
use tonic::{Request, Response, Status};
use types::{ManagerStatus, Node, NodeRole, NodeState};

use crate::dispatcher::view::manager_addrs;
use crate::membership::issuer::{certificate_role, issue};

pub struct MembershipService {
    store: Store,
}

impl MembershipService {
    pub fn new(store: Store) -> Self {
        MembershipService { store }
    }
}

/// The role a token grants, or why it grants none. Compared in full: a rotated-out token no
/// longer matches either current token.
pub fn role_for_token(cluster: &types::Cluster, token: &str) -> Result<NodeRole, Status> {
    if !token.starts_with("SWMTKN-1-") {
        return Err(Status::invalid_argument(
            "join token is malformed: it must start with SWMTKN-1- (get one with `swarmctl cluster join-token worker` on a manager)",
        ));
    }
    if security::token_matches(token, &cluster.join_tokens.manager) {
        Ok(NodeRole::Manager)
    } else if security::token_matches(token, &cluster.join_tokens.worker) {
        Ok(NodeRole::Worker)
    } else {
        Err(Status::permission_denied(
            "join token is not valid for this cluster (wrong or rotated); get the current one with `swarmctl cluster join-token worker|manager` on a manager",
        ))
    }
}

fn random_raft_id() -> u64 {
    // Never 0: openraft treats IDs as opaque, but 0 reads as "unset" in our protos.
    rand::random::<u64>() | 1
}

#[tonic::async_trait]
impl pb::membership_server::Membership for MembershipService {
    async fn join(
        &self,
        request: Request<pb::JoinRequest>,
    ) -> Result<Response<pb::JoinResponse>, Status> {
        let req = request.into_inner();
        if req.hostname.trim().is_empty() {
            return Err(Status::invalid_argument(
                "join: hostname is empty; pass --hostname",
            ));
        }
        if req.advertise_addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(Status::invalid_argument(format!(
                "join: advertise address `{}` is not IP:PORT; pass --advertise-addr",
                req.advertise_addr
            )));
        }
        security::check_csr(&req.csr).map_err(|e| {
            Status::invalid_argument(format!(
                "join: {e}; this swarmd is too old for this cluster?"
            ))
        })?;
        let description = req
            .description
            .clone()
            .map(types::NodeDescription::from)
            .unwrap_or_default();
        let result = self
            .store
            .update(|t, tx| {
                let Some(cluster) = t.cluster() else {
                    return Err(JoinError(Status::unavailable(
                        "the cluster is not initialized yet",
                    )));
                };
                let role = role_for_token(cluster, &req.token)?;
                let existing = (!req.node_id.is_empty())
                    .then(|| t.nodes.get(&req.node_id))
                    .flatten();
                let mut node = match existing {
                    Some(n) => n.clone(),
                    None => Node {
                        id: types::new_id(),
                        ..Default::default()
                    },
                };
                node.description = description.clone();
                node.description.hostname = req.hostname.clone();
                node.status.addr = req.advertise_addr.clone();
                node.status.state = NodeState::Unknown;
                node.spec.desired_role = role;
                let raft_id = match role {
                    NodeRole::Manager => {
                        let status = node.manager_status.get_or_insert_with(|| ManagerStatus {
                            raft_id: random_raft_id(),
                            ..Default::default()
                        });
                        status.addr = req.advertise_addr.clone();
                        status.raft_id
                    }
                    NodeRole::Worker => 0,
                };
                let managers = manager_addrs(t);
                let cluster_id = cluster.id.clone();
                let out = pb::JoinResponse {
                    node_id: node.id.clone(),
                    role: pb_role(role),
                    cluster_id,
                    managers,
                    raft_id,
                    certificate: String::new(),
                    ca_certificate: String::new(),
                };
                if existing.is_some() {
                    tx.update(Object::Node(node));
                } else {
                    tx.create(Object::Node(node));
                }
                Ok(out)
            })
            .await;
        let mut out = result.map_err(|e: JoinError| e.0)?;
        let role = if out.raft_id != 0 {
            security::CertRole::Manager
        } else {
            security::CertRole::Worker
        };
        let issued = issue(&self.store, &req.csr, &out.node_id, role)?;
        out.certificate = issued.certificate;
        out.ca_certificate = issued.ca_certificate;
        tracing::info!(node = %out.node_id, %role, hostname = %req.hostname, "node joined");
        Ok(Response::new(out))
    }

    async fn renew_certificate(
        &self,
        request: Request<pb::RenewCertificateRequest>,
    ) -> Result<Response<pb::RenewCertificateResponse>, Status> {
        let peer = security::peer_identity(&request)?;
        if peer.role == security::CertRole::Client {
            return Err(Status::permission_denied(
                "client certificates are renewed with `swarmctl cluster client-cert`",
            ));
        }
        let node = self
            .store
            .view(|t| t.nodes.get(&peer.node_id).cloned())
            .ok_or_else(|| {
                Status::permission_denied(format!(
                    "node {} is not a member of this cluster (removed?)",
                    peer.node_id
                ))
            })?;
        let role = certificate_role(&node);
        let issued = issue(&self.store, &request.get_ref().csr, &node.id, role)?;
        tracing::debug!(node = %node.id, %role, "certificate renewed");
        Ok(Response::new(pb::RenewCertificateResponse {
            certificate: issued.certificate,
            ca_certificate: issued.ca_certificate,
        }))
    }
}

fn pb_role(role: NodeRole) -> i32 {
    api::objects::NodeRole::from(role).into()
}

/// Store failures as gRPC statuses.
fn store_status(e: StoreError) -> Status {
    match e {
        StoreError::NoLeader(_) | StoreError::Unavailable(_) => Status::unavailable(e.to_string()),
        StoreError::AlreadyExists { .. } | StoreError::Taken(_) => {
            Status::already_exists(e.to_string())
        }
        StoreError::NotFound { .. } => Status::not_found(e.to_string()),
        StoreError::Conflict { .. } => Status::aborted(e.to_string()),
        StoreError::Storage(_) => Status::internal(e.to_string()),
    }
}

/// Lets `Store::update` closures return `Status` errors directly.
struct JoinError(Status);

impl From<StoreError> for JoinError {
    fn from(e: StoreError) -> Self {
        JoinError(store_status(e))
    }
}

impl From<Status> for JoinError {
    fn from(s: Status) -> Self {
        JoinError(s)
    }
}
