//! Test support shared by the control API's tests and the crates that test through it (the
//! Engine API): a store holding a cluster object and nodes, and a control API over it whose
//! node connections are all refused.

use std::sync::Arc;

use api::dispatcher::agent_client::AgentClient;
use futures::future::BoxFuture;
use store::{Object, Store, StoreError};
use tonic::transport::Channel;
use tonic::Status;
use types::{
    Cluster, ManagerStatus, Node, NodeDescription, NodeRole, NodeSpec, NodeState, NodeStatus,
    Reachability,
};

use super::{ControlApi, NodeConnector};

/// For tests that never reach an agent: every connection is refused.
pub struct NoAgents;

impl NodeConnector for NoAgents {
    fn agent(&self, node: &Node) -> BoxFuture<'static, Result<AgentClient<Channel>, Status>> {
        let msg = format!("no agent for {} in this test", node.id);
        Box::pin(async move { Err(Status::unavailable(msg)) })
    }
}

/// A node as the store holds it after joining: `role` both desired and held, reachable when
/// a manager.
pub fn node(id: &str, hostname: &str, role: NodeRole, state: NodeState) -> Node {
    Node {
        id: id.into(),
        spec: NodeSpec {
            desired_role: role,
            ..Default::default()
        },
        description: NodeDescription {
            hostname: hostname.into(),
            ..Default::default()
        },
        status: NodeStatus {
            state,
            ..Default::default()
        },
        role,
        manager_status: (role == NodeRole::Manager).then(|| ManagerStatus {
            reachability: Reachability::Reachable,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A store holding a cluster object and the given nodes.
pub async fn store_with(nodes: Vec<Node>) -> Store {
    let store = Store::local();
    let ca = security::RootCa::create("cluster1").unwrap();
    store
        .update(|_, tx| {
            tx.create(Object::Cluster(Cluster {
                id: "cluster1".into(),
                meta: Default::default(),
                spec: Default::default(),
                join_tokens: types::JoinTokens {
                    worker: security::new_join_token(&ca.digest()),
                    manager: security::new_join_token(&ca.digest()),
                },
                root_ca: ca.material(),
                // Empty, as in a cluster made before secrets: the first secret makes one.
                data_key: Default::default(),
            }));
            for n in &nodes {
                tx.create(Object::Node(n.clone()));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    store
}

/// The control API of node `local` over `store`, reaching no agent.
pub fn api_over(store: &Store, local: &str) -> ControlApi {
    ControlApi::new(store.clone(), Arc::new(NoAgents), local)
}
