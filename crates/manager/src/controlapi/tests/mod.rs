//! The control API called as swarmctl calls it (through the `Control` trait) over a local store.

mod agents;
mod conns;
mod data;
mod events;
mod network_removal;
mod networks;
mod nodes;
mod services;

use api::control as pc;
use api::control::control_server::Control;
use store::{Object, Store, StoreError};
use tonic::{Code, Request, Status};
use types::ServiceSpec;

use super::ControlApi;

pub(super) use super::testing::{node, store_with};

pub(super) fn api_over(store: &Store) -> ControlApi {
    super::testing::api_over(store, "m1")
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
