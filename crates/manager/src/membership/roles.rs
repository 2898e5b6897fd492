//! The role manager (leader only): Raft membership follows each node's desired role.
//!
//! - a node that should be a manager (joined with the manager token, or promoted) gets a Raft
//!   ID, is added as learner then voter once its Raft server answers, then has role Manager;
//! - a node that should be a worker (demoted) leaves the voters and loses its manager status;
//! - a Raft member whose node was removed from the cluster leaves the group;
//! - every manager's `leader` and `reachability` are kept current for `node ls`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use store::{Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::{ManagerStatus, Node, NodeRole, Reachability};

use super::{RaftMember, RaftMembership};

const TICK: Duration = Duration::from_millis(300);
const ADD_TIMEOUT: Duration = Duration::from_secs(10);

/// One change the role manager wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleAction {
    /// Add this node's Raft ID as a voter at this address.
    AddVoter {
        node_id: String,
        raft_id: u64,
        addr: String,
    },
    /// Take this Raft ID out of the group.
    RemoveMember { raft_id: u64 },
    /// Write the node (role, manager status) as given.
    WriteNode(Box<Node>),
}

/// Decides what to do from the store's nodes and Raft's members: a pure function.
pub fn plan(
    nodes: &BTreeMap<String, Node>,
    members: &[RaftMember],
    self_raft_id: u64,
    leader_id: Option<u64>,
) -> Vec<RoleAction> {
    let mut actions = Vec::new();
    let member = |id: u64| members.iter().find(|m| m.raft_id == id);
    let voters = members.iter().filter(|m| m.voter).count();

    for node in nodes.values() {
        let mut next = node.clone();
        match node.spec.desired_role {
            NodeRole::Manager => {
                let status = next.manager_status.get_or_insert_with(|| ManagerStatus {
                    raft_id: rand::random::<u64>() | 1,
                    addr: node.status.addr.clone(),
                    ..Default::default()
                });
                match member(status.raft_id) {
                    Some(m) if m.voter => next.role = NodeRole::Manager,
                    _ if node.manager_status.is_some() && !status.addr.is_empty() => {
                        actions.push(RoleAction::AddVoter {
                            node_id: node.id.clone(),
                            raft_id: status.raft_id,
                            addr: status.addr.clone(),
                        })
                    }
                    _ => {}
                }
            }
            NodeRole::Worker => {
                if let Some(status) = &node.manager_status {
                    let is_member = member(status.raft_id).is_some();
                    if is_member && voters > 1 {
                        actions.push(RoleAction::RemoveMember {
                            raft_id: status.raft_id,
                        });
                    } else if !is_member {
                        next.manager_status = None;
                        next.role = NodeRole::Worker;
                    }
                }
            }
        }
        if let Some(status) = next.manager_status.as_mut() {
            status.leader = leader_id == Some(status.raft_id);
            status.reachability = match member(status.raft_id) {
                Some(m) if m.reachable || m.raft_id == self_raft_id => Reachability::Reachable,
                Some(_) => Reachability::Unreachable,
                None => Reachability::Unknown,
            };
        }
        if next != *node {
            actions.push(RoleAction::WriteNode(Box::new(next)));
        }
    }

    // Members no node claims any more (the node was removed from the cluster).
    for m in members {
        let claimed = nodes
            .values()
            .any(|n| n.manager_status.as_ref().map(|s| s.raft_id) == Some(m.raft_id));
        if !claimed && m.raft_id != self_raft_id && voters > 1 {
            actions.push(RoleAction::RemoveMember { raft_id: m.raft_id });
        }
    }
    actions
}

pub struct RoleManager {
    store: Store,
    raft: Arc<dyn RaftMembership>,
}

impl RoleManager {
    pub fn new(store: Store, raft: Arc<dyn RaftMembership>) -> Self {
        RoleManager { store, raft }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.reconcile().await {
                tracing::warn!(error = %e, "role manager: will retry");
            }
        }
    }

    async fn reconcile(&self) -> Result<(), String> {
        let members = self.raft.members().await;
        let actions = self.store.view(|t| {
            plan(
                &t.nodes,
                &members,
                self.raft.raft_id(),
                self.raft.leader_id(),
            )
        });
        for action in actions {
            match action {
                RoleAction::AddVoter {
                    node_id,
                    raft_id,
                    addr,
                } => {
                    tracing::info!(node = %node_id, raft_id, %addr, "adding manager to raft");
                    match tokio::time::timeout(ADD_TIMEOUT, self.raft.add_voter(raft_id, addr))
                        .await
                    {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return Err(format!("adding {node_id} to raft: {e}")),
                        Err(_) => return Err(format!("adding {node_id} to raft timed out")),
                    }
                }
                RoleAction::RemoveMember { raft_id } => {
                    tracing::info!(raft_id, "removing manager from raft");
                    self.raft.remove(raft_id).await?;
                }
                RoleAction::WriteNode(node) => {
                    self.store
                        .update(|t, tx| {
                            let Some(current) = t.nodes.get(&node.id) else {
                                return Ok(());
                            };
                            let mut n = (*node).clone();
                            n.meta = current.meta.clone();
                            // Only the role manager's fields: keep everything else current.
                            let mut merged = current.clone();
                            merged.role = n.role;
                            merged.manager_status = n.manager_status.take();
                            if merged != *current {
                                tx.update(Object::Node(merged));
                            }
                            Ok::<_, StoreError>(())
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, desired: NodeRole, raft: Option<u64>) -> Node {
        let mut n = Node {
            id: id.into(),
            ..Default::default()
        };
        n.spec.desired_role = desired;
        n.status.addr = format!("{id}:2377");
        n.manager_status = raft.map(|raft_id| ManagerStatus {
            raft_id,
            addr: format!("{id}:2377"),
            ..Default::default()
        });
        n
    }

    fn voter(raft_id: u64) -> RaftMember {
        RaftMember {
            raft_id,
            addr: String::new(),
            voter: true,
            reachable: true,
        }
    }

    fn nodes(list: Vec<Node>) -> BTreeMap<String, Node> {
        list.into_iter().map(|n| (n.id.clone(), n)).collect()
    }

    #[test]
    fn a_joining_manager_is_added_as_voter() {
        let n = nodes(vec![
            node("m1", NodeRole::Manager, Some(1)),
            node("m2", NodeRole::Manager, Some(2)),
        ]);
        let actions = plan(&n, &[voter(1)], 1, Some(1));
        assert!(actions.contains(&RoleAction::AddVoter {
            node_id: "m2".into(),
            raft_id: 2,
            addr: "m2:2377".into()
        }));
    }

    #[test]
    fn a_promoted_worker_first_gets_a_raft_id() {
        let n = nodes(vec![
            node("m1", NodeRole::Manager, Some(1)),
            node("w1", NodeRole::Manager, None),
        ]);
        let actions = plan(&n, &[voter(1)], 1, Some(1));
        let written = actions.iter().find_map(|a| match a {
            RoleAction::WriteNode(n) if n.id == "w1" => Some(n.clone()),
            _ => None,
        });
        let w1 = written.expect("w1 gets a manager status");
        assert!(w1.manager_status.unwrap().raft_id != 0);
        assert!(!actions
            .iter()
            .any(|a| matches!(a, RoleAction::AddVoter { .. })));
    }

    #[test]
    fn a_voter_gets_role_manager_and_leader_flag() {
        let n = nodes(vec![node("m1", NodeRole::Manager, Some(1))]);
        let actions = plan(&n, &[voter(1)], 1, Some(1));
        let RoleAction::WriteNode(m1) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(m1.role, NodeRole::Manager);
        assert!(m1.manager_status.as_ref().unwrap().leader);
    }

    #[test]
    fn demotion_removes_the_member_but_never_the_last_voter() {
        let mut m2 = node("m2", NodeRole::Worker, Some(2));
        m2.role = NodeRole::Manager;
        let n = nodes(vec![node("m1", NodeRole::Manager, Some(1)), m2.clone()]);
        let actions = plan(&n, &[voter(1), voter(2)], 1, Some(1));
        assert!(actions.contains(&RoleAction::RemoveMember { raft_id: 2 }));

        let lone = nodes(vec![{
            let mut m = node("m1", NodeRole::Worker, Some(1));
            m.role = NodeRole::Manager;
            m
        }]);
        let actions = plan(&lone, &[voter(1)], 1, Some(1));
        assert!(!actions
            .iter()
            .any(|a| matches!(a, RoleAction::RemoveMember { .. })));
    }

    #[test]
    fn members_of_removed_nodes_leave_the_group() {
        let n = nodes(vec![node("m1", NodeRole::Manager, Some(1))]);
        let actions = plan(&n, &[voter(1), voter(7)], 1, Some(1));
        assert!(actions.contains(&RoleAction::RemoveMember { raft_id: 7 }));
    }
}
