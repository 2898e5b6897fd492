//! Nodes: update, promote/demote rules, remove rules.

use api::control as pc;
use api::control::control_server::Control;
use tonic::{Code, Request, Status};
use types::{NodeAvailability, NodeRole, NodeSpec, NodeState, Reachability};

use super::{api_over, assert_status, node, store_with};

async fn set_spec(
    api: &super::ControlApi,
    id: &str,
    edit: impl FnOnce(&mut NodeSpec),
) -> Result<types::Node, Status> {
    let current = api
        .get_node(Request::new(pc::GetNodeRequest { id: id.into() }))
        .await?
        .into_inner();
    let mut spec = NodeSpec::try_from(current.spec.unwrap()).unwrap();
    edit(&mut spec);
    let reply = api
        .update_node(Request::new(pc::UpdateNodeRequest {
            id: id.into(),
            version: current.meta.unwrap().version,
            spec: Some(spec.into()),
        }))
        .await?;
    Ok(types::Node::try_from(reply.into_inner()).unwrap())
}

fn remove(id: &str, force: bool) -> Request<pc::RemoveNodeRequest> {
    Request::new(pc::RemoveNodeRequest {
        id: id.into(),
        force,
    })
}

#[tokio::test]
async fn update_availability_labels_and_role() {
    let store = store_with(vec![
        node("m1aaa", "manager1", NodeRole::Manager, NodeState::Ready),
        node("w1aaa", "worker1", NodeRole::Worker, NodeState::Ready),
    ])
    .await;
    let api = api_over(&store);
    let n = set_spec(&api, "worker1", |s| {
        s.availability = NodeAvailability::Drain;
        s.labels.insert("zone".into(), "b".into());
    })
    .await
    .unwrap();
    assert_eq!(n.spec.availability, NodeAvailability::Drain);
    assert_eq!(n.spec.labels["zone"], "b");
    let n = set_spec(&api, "w1", |s| s.desired_role = NodeRole::Manager)
        .await
        .unwrap();
    assert_eq!(n.spec.desired_role, NodeRole::Manager);
    // The role itself changes when the daemon has changed Raft membership.
    assert_eq!(n.role, NodeRole::Worker);

    let list = api
        .list_nodes(Request::new(pc::ListNodesRequest {}))
        .await
        .unwrap();
    assert_eq!(
        list.metadata().get(super::super::NODE_ID_METADATA).unwrap(),
        "m1"
    );
    assert_eq!(list.into_inner().nodes.len(), 2);

    let mut bad = NodeSpec::default();
    bad.labels.insert(" ".into(), "x".into());
    assert_status(
        api.update_node(Request::new(pc::UpdateNodeRequest {
            id: "worker1".into(),
            version: 0,
            spec: Some(bad.into()),
        }))
        .await,
        Code::InvalidArgument,
        &["spec.labels"],
    );
    assert_status(
        api.get_node(Request::new(pc::GetNodeRequest { id: "w9".into() }))
            .await,
        Code::NotFound,
        &["node w9 not found"],
    );
}

#[tokio::test]
async fn the_last_manager_cannot_be_demoted() {
    let store = store_with(vec![node(
        "m1aaa",
        "manager1",
        NodeRole::Manager,
        NodeState::Ready,
    )])
    .await;
    let api = api_over(&store);
    let before = store.view(|t| t.clone());
    assert_status(
        set_spec(&api, "manager1", |s| s.desired_role = NodeRole::Worker).await,
        Code::FailedPrecondition,
        &["manager1", "last manager", "promote another node"],
    );
    assert_eq!(store.view(|t| t.clone()), before);
}

#[tokio::test]
async fn demotion_that_loses_quorum_is_refused() {
    let mut down = node("m3aaa", "manager3", NodeRole::Manager, NodeState::Down);
    down.manager_status.as_mut().unwrap().reachability = Reachability::Unreachable;
    let store = store_with(vec![
        node("m1aaa", "manager1", NodeRole::Manager, NodeState::Ready),
        node("m2aaa", "manager2", NodeRole::Manager, NodeState::Ready),
        down,
    ])
    .await;
    let api = api_over(&store);
    assert_status(
        set_spec(&api, "manager2", |s| s.desired_role = NodeRole::Worker).await,
        Code::FailedPrecondition,
        &["1 of 2 managers reachable", "majority"],
    );
    // Demoting the unreachable one is what restores a safe majority.
    let n = set_spec(&api, "manager3", |s| s.desired_role = NodeRole::Worker)
        .await
        .unwrap();
    assert_eq!(n.spec.desired_role, NodeRole::Worker);
}

#[tokio::test]
async fn remove_rules() {
    let store = store_with(vec![
        node("m1aaa", "manager1", NodeRole::Manager, NodeState::Ready),
        node("m2aaa", "manager2", NodeRole::Manager, NodeState::Down),
        node("m3aaa", "manager3", NodeRole::Manager, NodeState::Ready),
        node("w1aaa", "worker1", NodeRole::Worker, NodeState::Ready),
        node("w2aaa", "worker2", NodeRole::Worker, NodeState::Down),
    ])
    .await;
    let api = api_over(&store);
    assert_status(
        api.remove_node(remove("worker1", false)).await,
        Code::FailedPrecondition,
        &["worker1", "not down", "--force"],
    );
    for force in [false, true] {
        assert_status(
            api.remove_node(remove("manager3", force)).await,
            Code::FailedPrecondition,
            &["manager3", "demote it first"],
        );
    }
    assert_eq!(store.view(|t| t.nodes.len()), 5, "refusals change nothing");
    api.remove_node(remove("worker1", true)).await.unwrap();
    api.remove_node(remove("worker2", false)).await.unwrap();
    api.remove_node(remove("manager2", false)).await.unwrap();
    let mut left: Vec<String> = store.view(|t| t.nodes.keys().cloned().collect());
    left.sort();
    assert_eq!(left, ["m1aaa", "m3aaa"]);
    assert_status(
        api.remove_node(remove("worker1", true)).await,
        Code::NotFound,
        &["worker1"],
    );
}
