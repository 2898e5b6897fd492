//! What `network inspect` shows: the network, who holds which address on it, and the
//! services attached to it with their virtual IPs.

use std::collections::BTreeMap;

use serde::Serialize;
use types::{Network, Node, Service, Task};

/// What `network inspect` shows: the network and who holds which address on it.
#[derive(Debug, Serialize)]
pub struct NetworkReport {
    #[serde(flatten)]
    pub network: Network,
    /// Each node's address on the network, by hostname.
    pub peers: Vec<Peer>,
    /// Each task's address on the network.
    pub tasks: Vec<TaskAddr>,
    /// The services attached to it, with their virtual IP on it.
    pub services: Vec<ServiceOn>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ServiceOn {
    pub service_id: String,
    pub name: String,
    pub endpoint_mode: String,
    /// Empty in dnsrr mode.
    pub virtual_ip: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Peer {
    pub node_id: String,
    pub hostname: String,
    pub underlay_addr: String,
    pub ingress_addr: String,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TaskAddr {
    pub task_id: String,
    pub name: String,
    pub node: String,
    pub addr: String,
    pub mac: String,
    pub state: String,
}

pub fn report(
    network: Network,
    nodes: &[Node],
    tasks: &[Task],
    services: &[Service],
) -> NetworkReport {
    let hostnames: BTreeMap<&str, &str> = nodes
        .iter()
        .map(|n| (n.id.as_str(), n.description.hostname.as_str()))
        .collect();
    let mut peers: Vec<Peer> = nodes
        .iter()
        .map(|n| Peer {
            node_id: n.id.clone(),
            hostname: n.description.hostname.clone(),
            underlay_addr: n.status.addr.clone(),
            ingress_addr: n.ingress_addr.clone(),
        })
        .collect();
    peers.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    let mut task_addrs: Vec<TaskAddr> = tasks
        .iter()
        .flat_map(|t| {
            t.networks
                .iter()
                .filter(|a| a.network_id == network.id && !a.addr.is_empty())
                .map(|a| TaskAddr {
                    task_id: t.id.clone(),
                    name: t.display_name(),
                    node: hostnames.get(t.node_id.as_str()).unwrap_or(&"").to_string(),
                    addr: a.addr.clone(),
                    mac: a.mac.clone(),
                    state: t.status.state.as_str().into(),
                })
        })
        .collect();
    task_addrs.sort_by(|a, b| a.name.cmp(&b.name).then(a.task_id.cmp(&b.task_id)));
    let mut on: Vec<ServiceOn> = services
        .iter()
        .filter_map(|s| {
            let target = s
                .spec
                .task
                .networks
                .iter()
                .find(|n| n.target == network.id)?;
            Some(ServiceOn {
                service_id: s.id.clone(),
                name: s.spec.name.clone(),
                endpoint_mode: s.spec.endpoint.mode.as_str().into(),
                virtual_ip: s
                    .virtual_ips
                    .iter()
                    .find(|v| v.network_id == network.id)
                    .map(|v| v.addr.clone())
                    .unwrap_or_default(),
                aliases: target.aliases.clone(),
            })
        })
        .collect();
    on.sort_by(|a, b| a.name.cmp(&b.name));
    NetworkReport {
        network,
        peers,
        tasks: task_addrs,
        services: on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{NetworkAttachment, NetworkSpec};

    #[test]
    fn report_lists_node_and_task_addresses() {
        let net = Network {
            id: "net1".into(),
            meta: Default::default(),
            spec: NetworkSpec::ingress("10.255.0.0/16"),
        };
        let mut n = Node {
            id: "n1".into(),
            ingress_addr: "10.255.0.2".into(),
            ..Default::default()
        };
        n.description.hostname = "worker1".into();
        let t = Task {
            id: "t1".into(),
            service_name: "web".into(),
            slot: 1,
            node_id: "n1".into(),
            networks: vec![NetworkAttachment {
                network_id: "net1".into(),
                addr: "10.255.0.9".into(),
                mac: "02:42:0a:ff:00:09".into(),
            }],
            ..Default::default()
        };
        let mut svc = Service {
            id: "s1".into(),
            virtual_ips: vec![types::VirtualIp {
                network_id: "net1".into(),
                addr: "10.255.0.5".into(),
            }],
            ..Default::default()
        };
        svc.spec.name = "web".into();
        svc.spec.task.networks = vec![types::NetworkTarget {
            target: "net1".into(),
            aliases: vec!["www".into()],
        }];
        let other = Service::default();
        let r = report(net, &[n], &[t], &[svc, other]);
        assert_eq!(r.services.len(), 1, "only services on the network");
        assert_eq!(
            (
                r.services[0].virtual_ip.as_str(),
                r.services[0].aliases.as_slice()
            ),
            ("10.255.0.5", &["www".to_string()][..])
        );
        assert_eq!(r.peers[0].ingress_addr, "10.255.0.2");
        assert_eq!(r.tasks[0].addr, "10.255.0.9");
        assert_eq!(r.tasks[0].node, "worker1");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["spec"]["vni"], 4096);
        assert_eq!(json["spec"]["mtu"], 1450);
        assert_eq!(json["tasks"][0]["name"], "web.1");
    }
}
