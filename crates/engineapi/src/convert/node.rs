//! Nodes: ours → docker's `swarm.Node` (`node ls/inspect`, the progress loop, the visualizer),
//! and docker's `NodeSpec` → ours for `node update/promote/demote`.

use std::net::SocketAddr;

use api::objects as pb;
use bollard::models::{
    EngineDescription, ManagerStatus, Node, NodeDescription, NodeSpec, NodeSpecAvailabilityEnum,
    NodeSpecRoleEnum, NodeState, NodeStatus, Platform, Reachability, ResourceObject,
};

use super::{default_only, stamps};
use crate::error::EngineError;

/// A node as docker shows it. `Description.Platform` and `.Resources` are always present: the
/// visualizer reads them unguarded.
pub fn node(n: pb::Node) -> Node {
    let stamps = stamps(n.meta.as_ref());
    let spec = n.spec.unwrap_or_default();
    let description = n.description.unwrap_or_default();
    let platform = description.platform.unwrap_or_default();
    let resources = description.resources.unwrap_or_default();
    let status = n.status.unwrap_or_default();
    Node {
        id: Some(n.id),
        version: stamps.version,
        created_at: stamps.created_at,
        updated_at: stamps.updated_at,
        spec: Some(NodeSpec {
            name: None,
            labels: Some(spec.labels),
            role: Some(role_out(spec.desired_role)),
            availability: Some(availability_out(spec.availability)),
        }),
        description: Some(NodeDescription {
            hostname: Some(description.hostname),
            platform: Some(Platform {
                architecture: Some(platform.arch),
                os: Some(platform.os),
            }),
            resources: Some(ResourceObject {
                nano_cpus: Some(resources.nano_cpus),
                memory_bytes: Some(resources.memory_bytes),
                generic_resources: None,
            }),
            engine: Some(EngineDescription {
                engine_version: Some(description.engine_version),
                labels: Some(description.engine_labels),
                plugins: Some(Vec::new()),
            }),
            tls_info: None,
        }),
        status: Some(NodeStatus {
            state: Some(state_out(status.state)),
            message: Some(status.message),
            addr: Some(ip_only(status.addr)),
        }),
        manager_status: n.manager_status.map(|m| ManagerStatus {
            leader: Some(m.leader),
            reachability: Some(reachability_out(m.reachability)),
            addr: Some(m.addr),
        }),
    }
}

/// Docker's `Status.Addr` is an IP; drop a port if one was recorded with it.
fn ip_only(addr: String) -> String {
    match addr.parse::<SocketAddr>() {
        Ok(socket) => socket.ip().to_string(),
        Err(_) => addr,
    }
}

fn role_out(role: i32) -> NodeSpecRoleEnum {
    match pb::NodeRole::try_from(role) {
        Ok(pb::NodeRole::Manager) => NodeSpecRoleEnum::MANAGER,
        _ => NodeSpecRoleEnum::WORKER,
    }
}

fn availability_out(availability: i32) -> NodeSpecAvailabilityEnum {
    match pb::NodeAvailability::try_from(availability) {
        Ok(pb::NodeAvailability::Pause) => NodeSpecAvailabilityEnum::PAUSE,
        Ok(pb::NodeAvailability::Drain) => NodeSpecAvailabilityEnum::DRAIN,
        _ => NodeSpecAvailabilityEnum::ACTIVE,
    }
}

fn state_out(state: i32) -> NodeState {
    match pb::NodeState::try_from(state) {
        Ok(pb::NodeState::Ready) => NodeState::READY,
        Ok(pb::NodeState::Down) => NodeState::DOWN,
        Ok(pb::NodeState::Disconnected) => NodeState::DISCONNECTED,
        _ => NodeState::UNKNOWN,
    }
}

fn reachability_out(reachability: i32) -> Reachability {
    match pb::Reachability::try_from(reachability) {
        Ok(pb::Reachability::Reachable) => Reachability::REACHABLE,
        Ok(pb::Reachability::Unreachable) => Reachability::UNREACHABLE,
        _ => Reachability::UNKNOWN,
    }
}

/// The spec `node update` sends (the whole spec as read, edited). Role and Availability are
/// required, as in moby; a node `Name` is not kept by swarmd, so one is refused.
pub fn node_spec(spec: NodeSpec) -> Result<pb::NodeSpec, EngineError> {
    default_only("Name", &spec.name)?;
    let desired_role = match spec.role {
        Some(NodeSpecRoleEnum::WORKER) => pb::NodeRole::Worker,
        Some(NodeSpecRoleEnum::MANAGER) => pb::NodeRole::Manager,
        _ => {
            return Err(EngineError::bad_request(
                "Role: missing or empty; set it to `worker` or `manager` (send the whole Spec \
                 read from GET /nodes/{id}, edited)",
            ))
        }
    };
    let availability = match spec.availability {
        Some(NodeSpecAvailabilityEnum::ACTIVE) => pb::NodeAvailability::Active,
        Some(NodeSpecAvailabilityEnum::PAUSE) => pb::NodeAvailability::Pause,
        Some(NodeSpecAvailabilityEnum::DRAIN) => pb::NodeAvailability::Drain,
        _ => {
            return Err(EngineError::bad_request(
                "Availability: missing or empty; set it to `active`, `pause` or `drain` (send \
                 the whole Spec read from GET /nodes/{id}, edited)",
            ))
        }
    };
    Ok(pb::NodeSpec {
        desired_role: desired_role.into(),
        availability: availability.into(),
        labels: spec.labels.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_missing_enums_are_named() {
        let sent = NodeSpec {
            name: None,
            labels: Some([("a".to_string(), "b".to_string())].into()),
            role: Some(NodeSpecRoleEnum::MANAGER),
            availability: Some(NodeSpecAvailabilityEnum::DRAIN),
        };
        let ours = node_spec(sent.clone()).unwrap();
        let shown = node(pb::Node {
            spec: Some(ours),
            ..Default::default()
        });
        assert_eq!(shown.spec.unwrap(), sent);
        let e = node_spec(NodeSpec::default()).unwrap_err();
        assert!(e.message().starts_with("Role: missing"), "{}", e.message());
        let e = node_spec(NodeSpec {
            name: Some("n".into()),
            ..sent
        })
        .unwrap_err();
        assert!(e.message().starts_with("Name: swarmd does not support"));
    }

    #[test]
    fn status_addr_is_an_ip() {
        assert_eq!(ip_only("10.0.0.1:4242".into()), "10.0.0.1");
        assert_eq!(ip_only("10.0.0.1".into()), "10.0.0.1");
    }
}
