//! Node and everything inside it.

use api::objects as pb;

use super::{enum_in, enum_out, enum_pair, map_in, map_out, ConvertError};
use crate::node::{
    ManagerStatus, Node, NodeAvailability, NodeDescription, NodeRole, NodeSpec, NodeState,
    NodeStatus, Platform, Reachability, Resources,
};

enum_pair!(NodeRole, pb::NodeRole, { Worker <=> Worker, Manager <=> Manager });
enum_pair!(NodeAvailability, pb::NodeAvailability, {
    Active <=> Active, Pause <=> Pause, Drain <=> Drain,
});
enum_pair!(NodeState, pb::NodeState, {
    Unknown <=> Unknown, Down <=> Down, Ready <=> Ready, Disconnected <=> Disconnected,
});
enum_pair!(Reachability, pb::Reachability, {
    Unknown <=> Unknown, Unreachable <=> Unreachable, Reachable <=> Reachable,
});

impl From<Resources> for pb::Resources {
    fn from(r: Resources) -> Self {
        pb::Resources {
            nano_cpus: r.nano_cpus,
            memory_bytes: r.memory_bytes,
        }
    }
}

impl From<pb::Resources> for Resources {
    fn from(r: pb::Resources) -> Self {
        Resources {
            nano_cpus: r.nano_cpus,
            memory_bytes: r.memory_bytes,
        }
    }
}

impl From<Platform> for pb::Platform {
    fn from(p: Platform) -> Self {
        pb::Platform {
            os: p.os,
            arch: p.arch,
        }
    }
}

impl From<pb::Platform> for Platform {
    fn from(p: pb::Platform) -> Self {
        Platform {
            os: p.os,
            arch: p.arch,
        }
    }
}

impl From<NodeSpec> for pb::NodeSpec {
    fn from(s: NodeSpec) -> Self {
        pb::NodeSpec {
            desired_role: enum_out::<_, pb::NodeRole>(s.desired_role),
            availability: enum_out::<_, pb::NodeAvailability>(s.availability),
            labels: map_out(s.labels),
        }
    }
}

impl TryFrom<pb::NodeSpec> for NodeSpec {
    type Error = ConvertError;
    fn try_from(s: pb::NodeSpec) -> Result<Self, ConvertError> {
        Ok(NodeSpec {
            desired_role: enum_in::<pb::NodeRole, _>("spec.desired_role", s.desired_role)?,
            availability: enum_in::<pb::NodeAvailability, _>("spec.availability", s.availability)?,
            labels: map_in(s.labels),
        })
    }
}

impl From<NodeDescription> for pb::NodeDescription {
    fn from(d: NodeDescription) -> Self {
        pb::NodeDescription {
            hostname: d.hostname,
            platform: Some(d.platform.into()),
            resources: Some(d.resources.into()),
            engine_labels: map_out(d.engine_labels),
            engine_version: d.engine_version,
            warnings: d.warnings,
            mesh_backend: d.mesh_backend.as_str().to_string(),
            engine_error: d.engine_error.unwrap_or_default(),
        }
    }
}

impl From<pb::NodeDescription> for NodeDescription {
    fn from(d: pb::NodeDescription) -> Self {
        NodeDescription {
            hostname: d.hostname,
            platform: d.platform.map(Into::into).unwrap_or_default(),
            resources: d.resources.map(Into::into).unwrap_or_default(),
            engine_labels: map_in(d.engine_labels),
            engine_version: d.engine_version,
            warnings: d.warnings,
            // A backend this build does not know reads as none: the field only informs.
            mesh_backend: d.mesh_backend.parse().unwrap_or_default(),
            engine_error: Some(d.engine_error).filter(|e| !e.is_empty()),
        }
    }
}

impl From<NodeStatus> for pb::NodeStatus {
    fn from(s: NodeStatus) -> Self {
        pb::NodeStatus {
            state: enum_out::<_, pb::NodeState>(s.state),
            message: s.message,
            addr: s.addr,
            down_since_ms: s.down_since_ms,
        }
    }
}

impl TryFrom<pb::NodeStatus> for NodeStatus {
    type Error = ConvertError;
    fn try_from(s: pb::NodeStatus) -> Result<Self, ConvertError> {
        Ok(NodeStatus {
            state: enum_in::<pb::NodeState, _>("status.state", s.state)?,
            message: s.message,
            addr: s.addr,
            down_since_ms: s.down_since_ms,
        })
    }
}

impl From<ManagerStatus> for pb::ManagerStatus {
    fn from(m: ManagerStatus) -> Self {
        pb::ManagerStatus {
            raft_id: m.raft_id,
            addr: m.addr,
            leader: m.leader,
            reachability: enum_out::<_, pb::Reachability>(m.reachability),
        }
    }
}

impl TryFrom<pb::ManagerStatus> for ManagerStatus {
    type Error = ConvertError;
    fn try_from(m: pb::ManagerStatus) -> Result<Self, ConvertError> {
        Ok(ManagerStatus {
            raft_id: m.raft_id,
            addr: m.addr,
            leader: m.leader,
            reachability: enum_in::<pb::Reachability, _>(
                "manager_status.reachability",
                m.reachability,
            )?,
        })
    }
}

impl From<Node> for pb::Node {
    fn from(n: Node) -> Self {
        pb::Node {
            id: n.id,
            meta: Some(n.meta.into()),
            spec: Some(n.spec.into()),
            description: Some(n.description.into()),
            status: Some(n.status.into()),
            role: enum_out::<_, pb::NodeRole>(n.role),
            manager_status: n.manager_status.map(Into::into),
            ingress_addr: n.ingress_addr,
        }
    }
}

impl TryFrom<pb::Node> for Node {
    type Error = ConvertError;
    fn try_from(n: pb::Node) -> Result<Self, ConvertError> {
        Ok(Node {
            id: n.id,
            meta: n.meta.map(Into::into).unwrap_or_default(),
            spec: n
                .spec
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            description: n.description.map(Into::into).unwrap_or_default(),
            status: n
                .status
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            role: enum_in::<pb::NodeRole, _>("role", n.role)?,
            manager_status: n.manager_status.map(TryInto::try_into).transpose()?,
            ingress_addr: n.ingress_addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Meta;

    fn sample() -> Node {
        Node {
            id: "n1".into(),
            meta: Meta {
                version: 7,
                created_at_ms: 1,
                updated_at_ms: 2,
            },
            spec: NodeSpec {
                desired_role: NodeRole::Manager,
                availability: NodeAvailability::Drain,
                labels: [("zone".to_string(), "b".to_string())].into(),
            },
            description: NodeDescription {
                hostname: "worker1".into(),
                platform: Platform {
                    os: "linux".into(),
                    arch: "x86_64".into(),
                },
                resources: Resources {
                    nano_cpus: 2_000_000_000,
                    memory_bytes: 1 << 30,
                },
                engine_labels: [("disk".to_string(), "ssd".to_string())].into(),
                engine_version: "27.0.1".into(),
                warnings: vec!["no IPVS".into()],
                mesh_backend: crate::MeshBackendKind::Nftables,
                engine_error: Some("container engine unreachable: refused".into()),
            },
            status: NodeStatus {
                state: NodeState::Ready,
                message: "ok".into(),
                addr: "10.0.0.2".into(),
                down_since_ms: 1_700_000_000_000,
            },
            role: NodeRole::Manager,
            manager_status: Some(ManagerStatus {
                raft_id: 3,
                addr: "10.0.0.2:2377".into(),
                leader: true,
                reachability: Reachability::Reachable,
            }),
            ingress_addr: "10.255.0.2".into(),
        }
    }

    #[test]
    fn node_round_trips() {
        let n = sample();
        let wire = pb::Node::from(n.clone());
        assert_eq!(wire.role, pb::NodeRole::Manager as i32);
        assert_eq!(Node::try_from(wire).unwrap(), n);
        let worker = Node::default();
        assert_eq!(
            Node::try_from(pb::Node::from(worker.clone())).unwrap(),
            worker
        );
    }

    #[test]
    fn unknown_enum_names_the_field() {
        let mut wire = pb::Node::from(sample());
        wire.spec.as_mut().unwrap().availability = 42;
        let err = Node::try_from(wire).unwrap_err();
        assert_eq!(
            err,
            ConvertError::UnknownEnum {
                field: "spec.availability",
                value: 42
            }
        );
    }
}
