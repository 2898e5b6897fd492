//! Builds the `NetworkView` the leader would stream, for a lab cluster.

use std::net::Ipv4Addr;

use types::{
    MeshBackend, MeshService, Meta, Network, NetworkSpec, NetworkView, NodePeer, PortConfig,
    PortProtocol, PublishMode, TaskEndpoint,
};

use super::NodeHandle;

/// The ingress IP the lab gives node number `i` (0-based).
pub fn node_ingress(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 255, 0, 1 + i as u8)
}

#[derive(Clone)]
pub struct LabTask {
    pub task_id: String,
    pub node_id: String,
    /// Its ingress address; unspecified for a task not on ingress (its node reaches it on
    /// the gateway bridge).
    pub addr: Ipv4Addr,
}

fn ingress_addr(t: &LabTask) -> String {
    match t.addr.is_unspecified() {
        true => String::new(),
        false => t.addr.to_string(),
    }
}

pub fn view(
    nodes: &[&NodeHandle],
    services: &[(&str, Vec<PortConfig>, Vec<&LabTask>)],
    all_tasks: &[&LabTask],
) -> NetworkView {
    NetworkView {
        ingress: Some(Network {
            id: "ingress".into(),
            meta: Meta::default(),
            spec: NetworkSpec::ingress("10.255.0.0/16"),
        }),
        peers: nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodePeer {
                node_id: n.node_id.clone(),
                underlay_addr: n.underlay.to_string(),
                ingress_addr: node_ingress(i).to_string(),
            })
            .collect(),
        services: services
            .iter()
            .map(|(name, ports, tasks)| MeshService {
                service_id: format!("svc-{name}"),
                service_name: name.to_string(),
                ports: ports.clone(),
                backends: tasks
                    .iter()
                    .map(|t| MeshBackend {
                        task_id: t.task_id.clone(),
                        node_id: t.node_id.clone(),
                        addr: ingress_addr(t),
                    })
                    .collect(),
            })
            .collect(),
        endpoints: all_tasks
            .iter()
            .filter(|t| !t.addr.is_unspecified())
            .map(|t| TaskEndpoint {
                task_id: t.task_id.clone(),
                node_id: t.node_id.clone(),
                addr: t.addr.to_string(),
                mac: network::MacAddr::from_ipv4(t.addr).to_string(),
            })
            .collect(),
        overlays: Vec::new(),
    }
}

pub fn ingress_port(published: u32, target: u32) -> PortConfig {
    PortConfig {
        protocol: PortProtocol::Tcp,
        target_port: target,
        published_port: published,
        publish_mode: PublishMode::Ingress,
    }
}

pub fn host_port(published: u32, target: u32) -> PortConfig {
    PortConfig {
        publish_mode: PublishMode::Host,
        ..ingress_port(published, target)
    }
}
