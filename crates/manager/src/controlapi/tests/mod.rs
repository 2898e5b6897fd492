//! The control API called as swarmctl calls it (through the `Control` trait) over a local store.

mod agents;
mod data;
mod network_removal;
mod networks;
mod nodes;
mod services;

use std::sync::Arc;

use api::control as pc;
use api::control::control_server::Control;
use api::dispatcher::agent_client::AgentClient;
use futures::future::BoxFuture;
use store::{Object, Store, StoreError};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use types::{
    Cluster, ManagerStatus, Node, NodeDescription, NodeRole, NodeSpec, NodeState, NodeStatus,
    Reachability, ServiceSpec,
};

use super::{ControlApi, NodeConnector};

/// For tests that never reach an agent: every connection is refused.
struct NoAgents;

impl NodeConnector for NoAgents {
    fn agent(&self, node: &Node) -> BoxFuture<'static, Result<AgentClient<Channel>, Status>> {
        let msg = format!("no agent for {} in this test", node.id);
        Box::pin(async move { Err(Status::unavailable(msg)) })
    }
}

pub(super) fn node(id: &str, hostname: &str, role: NodeRole, state: NodeState) -> Node {
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
pub(super) async fn store_with(nodes: Vec<Node>) -> Store {
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

pub(super) fn api_over(store: &Store) -> ControlApi {
    ControlApi::new(store.clone(), Arc::new(NoAgents), "m1")
}

/// A minimal valid spec.
pub(super) fn spec(name: &str) -> ServiceSpec {
    let mut s = ServiceSpec {
        name: name.into(),
        ..Default::default()
    };
    s.task.container.image = "nginx:1.27".into();
    s
}

pub(super) async fn create(api: &ControlApi, spec: ServiceSpec) -> Result<types::Service, Status> {
    let reply = api
        .create_service(Request::new(pc::CreateServiceRequest {
            spec: Some(spec.into()),
        }))
        .await?;
    Ok(types::Service::try_from(reply.into_inner()).unwrap())
}

/// Asserts a call failed with `code` and a message containing every one of `words`.
pub(super) fn assert_status<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    words: &[&str],
) {
    let status = result.expect_err("the call should have failed");
    assert_eq!(status.code(), code, "{}", status.message());
    for w in words {
        assert!(
            status.message().contains(w),
            "`{}` should mention `{w}`",
            status.message()
        );
    }
}

#[tokio::test]
async fn rotating_a_token_changes_only_that_token() {
    let store = store_with(vec![]).await;
    let api = api_over(&store);
    let before = store.view(|t| t.cluster().unwrap().join_tokens.clone());
    let reply = api
        .rotate_join_token(Request::new(pc::RotateJoinTokenRequest {
            worker: true,
            manager: false,
        }))
        .await
        .unwrap()
        .into_inner();
    let after = store.view(|t| t.cluster().unwrap().join_tokens.clone());
    assert_ne!(after.worker, before.worker);
    assert_eq!(after.manager, before.manager);
    assert_eq!(reply.join_tokens.unwrap().worker, after.worker);
    assert!(security::parse_join_token(&after.worker).is_ok());

    assert_status(
        api.rotate_join_token(Request::new(pc::RotateJoinTokenRequest::default()))
            .await,
        Code::InvalidArgument,
        &["nothing to rotate"],
    );
}

#[tokio::test]
async fn get_cluster_and_networks() {
    let store = store_with(vec![]).await;
    store
        .update(|_, tx| {
            tx.create(Object::Network(types::Network {
                id: "net0123".into(),
                meta: Default::default(),
                spec: types::NetworkSpec::ingress("10.255.0.0/16"),
            }));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let api = api_over(&store);
    let reply = api
        .get_cluster(Request::new(pc::GetClusterRequest {}))
        .await
        .unwrap();
    assert_eq!(reply.metadata().get(super::NODE_ID_METADATA).unwrap(), "m1");
    assert_eq!(reply.into_inner().id, "cluster1");
    for query in ["ingress", "net0", "net0123"] {
        let net = api
            .get_network(Request::new(pc::GetNetworkRequest { id: query.into() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(net.spec.unwrap().vni, 4096);
    }
    assert_status(
        api.get_network(Request::new(pc::GetNetworkRequest { id: "x".into() }))
            .await,
        Code::NotFound,
        &["network x not found"],
    );
}
