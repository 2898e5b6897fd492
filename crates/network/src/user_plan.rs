//! The user overlay networks this node must build, derived from the leader's `NetworkView`:
//! only those it runs a task on (as Swarm does), each with static FDB entries for its tasks on
//! other nodes. Pure, so it is table-tested without a kernel.
//!
//! The node has no address on a user network's bridge: it routes nothing into or between
//! them, so a task on network `a` has no path to any address of network `b` (its only route
//! off its own subnets is the ingress default route, and the node has no route to `b`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use types::NetworkView;

use crate::error::DataplaneError;
use crate::mac::MacAddr;
use crate::plan::{parse_ipv4, FdbEntry, LinkSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNetworkPlan {
    pub network_id: String,
    pub subnet: Ipv4Net,
    pub vni: u32,
    pub vxlan_port: u16,
    pub mtu: u32,
    /// The remote tasks' MACs, and the flood list of the nodes that have tasks on it.
    pub fdb: BTreeSet<FdbEntry>,
}

impl UserNetworkPlan {
    pub fn link(&self) -> LinkSpec {
        LinkSpec {
            vni: self.vni,
            vxlan_port: self.vxlan_port,
            mtu: self.mtu,
            bridge_addr: None,
        }
    }
}

/// The user networks with a task of this node on them, in network ID order.
pub fn user_network_plans(
    view: &NetworkView,
    node_id: &str,
) -> Result<Vec<UserNetworkPlan>, DataplaneError> {
    let underlay_of: BTreeMap<&str, &str> = view
        .peers
        .iter()
        .map(|p| (p.node_id.as_str(), p.underlay_addr.as_str()))
        .collect();
    let mut plans = Vec::new();
    for o in &view.overlays {
        if !o.endpoints.iter().any(|e| e.node_id == node_id) {
            continue;
        }
        let spec = &o.network.spec;
        let bad =
            |what: &str| DataplaneError::InvalidInput(format!("network {}: {what}", spec.name));
        let subnet: Ipv4Net = spec
            .subnet
            .parse()
            .map_err(|_| bad("subnet is not IPv4 CIDR"))?;
        let vxlan_port = u16::try_from(spec.vxlan_port).map_err(|_| bad("VXLAN port"))?;
        let mut fdb = BTreeSet::new();
        for ep in o.endpoints.iter().filter(|e| e.node_id != node_id) {
            // A task on a node we have no underlay address for cannot be reached yet.
            let Some(dst) = underlay_of.get(ep.node_id.as_str()) else {
                continue;
            };
            let dst: Ipv4Addr = parse_ipv4(dst)?;
            let ip = parse_ipv4(&ep.addr)?;
            let mac = ep.mac.parse().unwrap_or_else(|_| MacAddr::from_ipv4(ip));
            fdb.insert(FdbEntry { mac, dst });
            fdb.insert(FdbEntry {
                mac: MacAddr::ZERO,
                dst,
            });
        }
        plans.push(UserNetworkPlan {
            network_id: o.network.id.clone(),
            subnet: subnet.trunc(),
            vni: spec.vni,
            vxlan_port,
            mtu: spec.mtu,
            fdb,
        });
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{Network, NetworkSpec, NodePeer, OverlayView, TaskEndpoint};

    fn ep(task: &str, node: &str, addr: &str) -> TaskEndpoint {
        TaskEndpoint {
            task_id: task.into(),
            node_id: node.into(),
            addr: addr.into(),
            mac: String::new(),
        }
    }

    fn overlay(id: &str, vni: u32, subnet: &str, endpoints: Vec<TaskEndpoint>) -> OverlayView {
        OverlayView {
            network: Network {
                id: id.into(),
                meta: Default::default(),
                spec: NetworkSpec {
                    subnet: subnet.into(),
                    vni,
                    ..NetworkSpec::overlay(id)
                },
            },
            endpoints,
            services: Vec::new(),
        }
    }

    fn view() -> NetworkView {
        let peer = |id: &str, underlay: &str| NodePeer {
            node_id: id.into(),
            underlay_addr: underlay.into(),
            ingress_addr: String::new(),
        };
        NetworkView {
            peers: vec![
                peer("a", "192.168.77.1"),
                peer("b", "192.168.77.2"),
                peer("c", "192.168.77.3"),
            ],
            overlays: vec![
                overlay(
                    "back",
                    4097,
                    "10.0.1.0/24",
                    vec![
                        ep("t1", "a", "10.0.1.3"),
                        ep("t2", "b", "10.0.1.4"),
                        ep("t3", "b", "10.0.1.5"),
                        ep("t4", "gone", "10.0.1.6"),
                    ],
                ),
                overlay(
                    "front",
                    4098,
                    "10.0.2.0/24",
                    vec![ep("t5", "c", "10.0.2.3")],
                ),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_node_builds_only_the_networks_it_runs_tasks_on() {
        let v = view();
        let a = user_network_plans(&v, "a").unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].network_id.as_str(), a[0].vni), ("back", 4097));
        assert_eq!(a[0].link().bridge_addr, None, "no node address: no routing");
        let b2 = "192.168.77.2".parse().unwrap();
        let want: BTreeSet<FdbEntry> = [
            FdbEntry {
                mac: MacAddr::ZERO,
                dst: b2,
            },
            FdbEntry {
                mac: MacAddr::from_ipv4("10.0.1.4".parse().unwrap()),
                dst: b2,
            },
            FdbEntry {
                mac: MacAddr::from_ipv4("10.0.1.5".parse().unwrap()),
                dst: b2,
            },
        ]
        .into();
        assert_eq!(
            a[0].fdb, want,
            "b's tasks and b's flood entry; c has none on back"
        );
        let c = user_network_plans(&v, "c").unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].fdb.is_empty(), "alone on front: nothing remote");
        assert!(user_network_plans(&v, "d").unwrap().is_empty());
    }

    #[test]
    fn a_bad_subnet_is_named() {
        let mut v = view();
        v.overlays[0].network.spec.subnet = "nope".into();
        let e = user_network_plans(&v, "a").unwrap_err().to_string();
        assert!(e.contains("back") && e.contains("subnet"), "{e}");
    }
}
