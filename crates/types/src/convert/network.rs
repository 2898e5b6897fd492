//! Network, Cluster, and the dispatcher's NetworkView.

use api::dispatcher as pd;
use api::objects as pb;

use super::service::{ports_in, ports_out};
use super::ConvertError;
use crate::cluster::{Cluster, ClusterSpec, JoinTokens};
use crate::netview::{MeshBackend, MeshService, NetworkView, NodePeer, TaskEndpoint};
use crate::network::{Network, NetworkSpec, NetworkTarget, VirtualIp};

impl From<NetworkSpec> for pb::NetworkSpec {
    fn from(s: NetworkSpec) -> Self {
        pb::NetworkSpec {
            name: s.name,
            ingress: s.ingress,
            subnet: s.subnet,
            gateway: s.gateway,
            vni: s.vni,
            mtu: s.mtu,
            vxlan_port: s.vxlan_port,
            driver: s.driver,
            internal: s.internal,
            attachable: s.attachable,
            labels: s.labels.into_iter().collect(),
            options: s.options.into_iter().collect(),
        }
    }
}

impl From<pb::NetworkSpec> for NetworkSpec {
    fn from(s: pb::NetworkSpec) -> Self {
        NetworkSpec {
            name: s.name,
            ingress: s.ingress,
            subnet: s.subnet,
            gateway: s.gateway,
            vni: s.vni,
            mtu: s.mtu,
            vxlan_port: s.vxlan_port,
            driver: s.driver,
            internal: s.internal,
            attachable: s.attachable,
            labels: s.labels.into_iter().collect(),
            options: s.options.into_iter().collect(),
        }
    }
}

impl From<NetworkTarget> for pb::NetworkAttachmentConfig {
    fn from(t: NetworkTarget) -> Self {
        pb::NetworkAttachmentConfig {
            target: t.target,
            aliases: t.aliases,
        }
    }
}

impl From<pb::NetworkAttachmentConfig> for NetworkTarget {
    fn from(t: pb::NetworkAttachmentConfig) -> Self {
        NetworkTarget {
            target: t.target,
            aliases: t.aliases,
        }
    }
}

impl From<VirtualIp> for pb::VirtualIp {
    fn from(v: VirtualIp) -> Self {
        pb::VirtualIp {
            network_id: v.network_id,
            addr: v.addr,
        }
    }
}

impl From<pb::VirtualIp> for VirtualIp {
    fn from(v: pb::VirtualIp) -> Self {
        VirtualIp {
            network_id: v.network_id,
            addr: v.addr,
        }
    }
}

impl From<Network> for pb::Network {
    fn from(n: Network) -> Self {
        pb::Network {
            id: n.id,
            meta: Some(n.meta.into()),
            spec: Some(n.spec.into()),
        }
    }
}

impl From<pb::Network> for Network {
    fn from(n: pb::Network) -> Self {
        Network {
            id: n.id,
            meta: n.meta.map(Into::into).unwrap_or_default(),
            // An absent spec is the default ingress: the only network a cluster has today.
            spec: n
                .spec
                .map(Into::into)
                .unwrap_or_else(|| NetworkSpec::ingress(crate::network::DEFAULT_INGRESS_SUBNET)),
        }
    }
}

impl From<ClusterSpec> for pb::ClusterSpec {
    fn from(s: ClusterSpec) -> Self {
        pb::ClusterSpec {
            name: s.name,
            heartbeat_period_ms: s.heartbeat_period_ms,
            task_history_limit: s.task_history_limit,
            snapshot_interval: s.snapshot_interval,
            ingress_subnet: s.ingress_subnet,
            node_cert_validity_secs: s.node_cert_validity_secs,
            orphan_after_ms: s.orphan_after_ms,
            default_addr_pool: s.default_addr_pool,
            default_addr_pool_mask_len: s.default_addr_pool_mask_len,
        }
    }
}

impl From<pb::ClusterSpec> for ClusterSpec {
    fn from(s: pb::ClusterSpec) -> Self {
        ClusterSpec {
            name: s.name,
            heartbeat_period_ms: s.heartbeat_period_ms,
            task_history_limit: s.task_history_limit,
            snapshot_interval: s.snapshot_interval,
            ingress_subnet: s.ingress_subnet,
            node_cert_validity_secs: s.node_cert_validity_secs,
            // proto3 cannot tell an absent field from 0, and a grace of 0 is not a setting.
            orphan_after_ms: match s.orphan_after_ms {
                0 => crate::cluster::DEFAULT_ORPHAN_AFTER_MS,
                ms => ms,
            },
            // Empty and 0 are not settings either: the defaults, as Docker's.
            default_addr_pool: match s.default_addr_pool.is_empty() {
                true => vec![crate::network::DEFAULT_ADDR_POOL.to_string()],
                false => s.default_addr_pool,
            },
            default_addr_pool_mask_len: match s.default_addr_pool_mask_len {
                0 => crate::network::DEFAULT_ADDR_POOL_MASK_LEN,
                n => n,
            },
        }
    }
}

impl From<JoinTokens> for pb::JoinTokens {
    fn from(t: JoinTokens) -> Self {
        pb::JoinTokens {
            worker: t.worker,
            manager: t.manager,
        }
    }
}

impl From<pb::JoinTokens> for JoinTokens {
    fn from(t: pb::JoinTokens) -> Self {
        JoinTokens {
            worker: t.worker,
            manager: t.manager,
        }
    }
}

/// The root CA stays behind: it is for managers' eyes only, and Raft is how they get it.
impl From<Cluster> for pb::Cluster {
    fn from(c: Cluster) -> Self {
        pb::Cluster {
            id: c.id,
            meta: Some(c.meta.into()),
            spec: Some(c.spec.into()),
            join_tokens: Some(c.join_tokens.into()),
        }
    }
}

impl From<pb::Cluster> for Cluster {
    fn from(c: pb::Cluster) -> Self {
        Cluster {
            id: c.id,
            meta: c.meta.map(Into::into).unwrap_or_default(),
            spec: c.spec.map(Into::into).unwrap_or_default(),
            join_tokens: c.join_tokens.map(Into::into).unwrap_or_default(),
            root_ca: Default::default(),
            data_key: Default::default(),
        }
    }
}

impl From<NodePeer> for pd::NodePeer {
    fn from(p: NodePeer) -> Self {
        pd::NodePeer {
            node_id: p.node_id,
            underlay_addr: p.underlay_addr,
            ingress_addr: p.ingress_addr,
        }
    }
}

impl From<pd::NodePeer> for NodePeer {
    fn from(p: pd::NodePeer) -> Self {
        NodePeer {
            node_id: p.node_id,
            underlay_addr: p.underlay_addr,
            ingress_addr: p.ingress_addr,
        }
    }
}

impl From<MeshBackend> for pd::MeshBackend {
    fn from(b: MeshBackend) -> Self {
        pd::MeshBackend {
            task_id: b.task_id,
            node_id: b.node_id,
            addr: b.addr,
        }
    }
}

impl From<pd::MeshBackend> for MeshBackend {
    fn from(b: pd::MeshBackend) -> Self {
        MeshBackend {
            task_id: b.task_id,
            node_id: b.node_id,
            addr: b.addr,
        }
    }
}

impl From<MeshService> for pd::MeshService {
    fn from(s: MeshService) -> Self {
        pd::MeshService {
            service_id: s.service_id,
            service_name: s.service_name,
            ports: ports_out(s.ports),
            backends: s.backends.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pd::MeshService> for MeshService {
    type Error = ConvertError;
    fn try_from(s: pd::MeshService) -> Result<Self, ConvertError> {
        Ok(MeshService {
            service_id: s.service_id,
            service_name: s.service_name,
            ports: ports_in(s.ports)?,
            backends: s.backends.into_iter().map(Into::into).collect(),
        })
    }
}

impl From<TaskEndpoint> for pd::TaskEndpoint {
    fn from(e: TaskEndpoint) -> Self {
        pd::TaskEndpoint {
            task_id: e.task_id,
            node_id: e.node_id,
            addr: e.addr,
            mac: e.mac,
        }
    }
}

impl From<pd::TaskEndpoint> for TaskEndpoint {
    fn from(e: pd::TaskEndpoint) -> Self {
        TaskEndpoint {
            task_id: e.task_id,
            node_id: e.node_id,
            addr: e.addr,
            mac: e.mac,
        }
    }
}

impl From<NetworkView> for pd::NetworkView {
    fn from(v: NetworkView) -> Self {
        pd::NetworkView {
            ingress: v.ingress.map(Into::into),
            peers: v.peers.into_iter().map(Into::into).collect(),
            services: v.services.into_iter().map(Into::into).collect(),
            endpoints: v.endpoints.into_iter().map(Into::into).collect(),
            overlays: v.overlays.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pd::NetworkView> for NetworkView {
    type Error = ConvertError;
    fn try_from(v: pd::NetworkView) -> Result<Self, ConvertError> {
        Ok(NetworkView {
            ingress: v.ingress.map(Into::into),
            peers: v.peers.into_iter().map(Into::into).collect(),
            services: v
                .services
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
            endpoints: v.endpoints.into_iter().map(Into::into).collect(),
            overlays: v
                .overlays
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{PortConfig, PortProtocol, PublishMode};
    use crate::Meta;

    fn ingress() -> Network {
        Network {
            id: "net1".into(),
            meta: Meta {
                version: 2,
                created_at_ms: 3,
                updated_at_ms: 4,
            },
            spec: NetworkSpec {
                gateway: "10.255.0.1".into(),
                ..NetworkSpec::ingress("10.255.0.0/16")
            },
        }
    }

    #[test]
    fn network_and_cluster_round_trip() {
        let n = ingress();
        assert_eq!(Network::from(pb::Network::from(n.clone())), n);
        let mut user = ingress();
        user.spec = NetworkSpec {
            subnet: "10.0.9.0/24".into(),
            gateway: "10.0.9.1".into(),
            vni: 4097,
            internal: true,
            attachable: true,
            labels: [("team".to_string(), "a".to_string())].into(),
            options: [("encrypted".to_string(), String::new())].into(),
            ..NetworkSpec::overlay("backend")
        };
        assert_eq!(Network::from(pb::Network::from(user.clone())), user);
        let c = Cluster {
            id: "c1".into(),
            meta: Meta::default(),
            spec: ClusterSpec {
                heartbeat_period_ms: 250,
                orphan_after_ms: 30_000,
                default_addr_pool: vec!["172.20.0.0/16".into(), "10.10.0.0/16".into()],
                default_addr_pool_mask_len: 26,
                ..Default::default()
            },
            join_tokens: JoinTokens {
                worker: "SWMTKN-1-a-w".into(),
                manager: "SWMTKN-1-a-m".into(),
            },
            root_ca: Default::default(),
            data_key: Default::default(),
        };
        assert_eq!(Cluster::from(pb::Cluster::from(c.clone())), c);
        let unset = pb::ClusterSpec::default();
        assert_eq!(
            ClusterSpec::from(unset).orphan_after_ms,
            crate::cluster::DEFAULT_ORPHAN_AFTER_MS,
            "an absent grace is the default, not `orphan at once`"
        );
        let unset = ClusterSpec::from(pb::ClusterSpec::default());
        assert_eq!(unset.default_addr_pool, vec!["10.0.0.0/8".to_string()]);
        assert_eq!(unset.default_addr_pool_mask_len, 24);
        let mut with_ca = c.clone();
        with_ca.root_ca.key_pem = crate::Redacted::new("KEY");
        with_ca.data_key = crate::Redacted::new("DATAKEY");
        let wire = format!("{:?}", pb::Cluster::from(with_ca));
        assert!(
            !wire.contains("KEY") && !wire.contains("DATAKEY"),
            "the CA key crossed the gRPC edge: {wire}"
        );
    }

    #[test]
    fn network_view_round_trips() {
        let v = NetworkView {
            ingress: Some(ingress()),
            peers: vec![NodePeer {
                node_id: "n1".into(),
                underlay_addr: "192.168.1.2".into(),
                ingress_addr: "10.255.0.2".into(),
            }],
            services: vec![MeshService {
                service_id: "s1".into(),
                service_name: "web".into(),
                ports: vec![PortConfig {
                    protocol: PortProtocol::Udp,
                    target_port: 80,
                    published_port: 8080,
                    publish_mode: PublishMode::Host,
                }],
                backends: vec![MeshBackend {
                    task_id: "t1".into(),
                    node_id: "n1".into(),
                    addr: "10.255.0.9".into(),
                }],
            }],
            endpoints: vec![TaskEndpoint {
                task_id: "t1".into(),
                node_id: "n1".into(),
                addr: "10.255.0.9".into(),
                mac: "02:42:0a:ff:00:09".into(),
            }],
            overlays: Vec::new(),
        };
        let wire = pd::NetworkView::from(v.clone());
        assert_eq!(NetworkView::try_from(wire).unwrap(), v);
        assert_eq!(
            NetworkView::try_from(pd::NetworkView::default()).unwrap(),
            NetworkView::default()
        );
    }
}
