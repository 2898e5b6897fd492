//! One allocation pass, as a pure function of the store: the ingress network if it is
//! missing, an ingress IP for every node without one, and for every new task an IP + MAC on
//! ingress (first, as the data plane expects; only when its service publishes a port in
//! ingress mode) and on each of its service's user networks.

use store::Tables;
use types::network::INGRESS_NAME;
use types::{Network, NetworkAttachment, NetworkSpec, Node, PublishMode, Service, Task, TaskState};

use std::collections::HashMap;

use super::ipam::{mac_for, IngressPool, IpamError};
use super::subnets::pool_of;

/// What a pass writes.
#[derive(Debug, Default)]
pub struct Allocation {
    /// The ingress network, when it did not exist yet.
    pub create_network: Option<Network>,
    pub nodes: Vec<Node>,
    pub tasks: Vec<Task>,
}

impl Allocation {
    pub fn is_empty(&self) -> bool {
        self.create_network.is_none() && self.nodes.is_empty() && self.tasks.is_empty()
    }
}

/// The message a task waiting for an address carries in `status.err`.
pub fn exhausted_message(subnet: &str) -> String {
    format!("ingress network {subnet} has no free address")
}

/// Decides a pass. Nothing happens before the cluster object exists: the ingress subnet is one
/// of its settings, and the network is created once and never recreated.
pub fn allocate(tables: &Tables, now_ms: i64) -> Result<Allocation, IpamError> {
    let mut out = Allocation::default();
    let Some(cluster) = tables.cluster() else {
        return Ok(out);
    };
    let network = match tables.ingress() {
        Some(n) => n.clone(),
        None => {
            let mut spec = NetworkSpec::ingress(&cluster.spec.ingress_subnet);
            let pool = IngressPool::new(&spec.subnet)?;
            spec.name = INGRESS_NAME.to_string();
            spec.subnet = pool.subnet();
            spec.gateway = pool.gateway().to_string();
            let n = Network {
                id: types::new_id(),
                meta: Default::default(),
                spec,
            };
            out.create_network = Some(n.clone());
            n
        }
    };
    let mut pool = IngressPool::new(&network.spec.subnet)?;
    pool.mark(&network.spec.gateway);
    for n in tables.nodes.values() {
        pool.mark(&n.ingress_addr);
    }
    for t in tables.tasks.values() {
        for a in &t.networks {
            pool.mark(&a.addr);
        }
    }

    for n in tables.nodes.values().filter(|n| n.ingress_addr.is_empty()) {
        let Some(ip) = pool.allocate() else {
            tracing::warn!(node = %n.id, "{}", exhausted_message(&network.spec.subnet));
            break;
        };
        let mut n = n.clone();
        n.ingress_addr = ip.to_string();
        out.nodes.push(n);
    }

    let mut waiting: Vec<&Task> = tables
        .tasks
        .values()
        .filter(|t| t.status.state == TaskState::New && t.desired_state <= TaskState::Running)
        .collect();
    waiting.sort_by_key(|t| (t.meta.created_at_ms, t.id.as_str()));
    let mut user_pools: HashMap<String, IngressPool> = HashMap::new();
    for t in waiting {
        let Some(service) = tables.services.get(&t.service_id) else {
            // Its service is gone: the orchestrator removes it.
            continue;
        };
        let mut t = t.clone();
        let mut networks = Vec::new();
        if publishes_ingress(service) {
            let kept = t
                .networks
                .first()
                .filter(|a| a.network_id == network.id && !a.addr.is_empty())
                .cloned();
            match kept.or_else(|| {
                pool.allocate().map(|ip| NetworkAttachment {
                    network_id: network.id.clone(),
                    addr: ip.to_string(),
                    mac: mac_for(ip),
                })
            }) {
                Some(a) => networks.push(a),
                None => {
                    let err = exhausted_message(&network.spec.subnet);
                    if t.status.err != err {
                        t.status.err = err;
                        t.status.timestamp_ms = now_ms;
                        out.tasks.push(t);
                    }
                    continue;
                }
            }
        }
        match user_attachments(tables, &t, &mut user_pools) {
            Ok(more) => networks.extend(more),
            Err(err) => {
                if t.status.err != err {
                    t.status.err = err;
                    t.status.timestamp_ms = now_ms;
                    out.tasks.push(t);
                }
                continue;
            }
        }
        t.networks = networks;
        t.endpoint_ports = service.endpoint_ports.clone();
        t.status.state = TaskState::Pending;
        t.status.message = "allocated".to_string();
        t.status.err.clear();
        t.status.timestamp_ms = now_ms;
        out.tasks.push(t);
    }
    Ok(out)
}

/// Only tasks of a service that publishes a port in ingress mode are on the ingress network,
/// as on Docker: the mesh sends to them there. Every other task is reachable only on its own
/// networks, and leaves the cluster through its node's gateway bridge.
pub fn publishes_ingress(service: &Service) -> bool {
    service
        .endpoint_ports
        .iter()
        .any(|p| p.publish_mode == PublishMode::Ingress)
}

/// The task's addresses on its user networks, in its spec's order (kept where it has them); an
/// error message for `status.err` when a network is gone or full.
fn user_attachments(
    tables: &Tables,
    task: &Task,
    pools: &mut HashMap<String, IngressPool>,
) -> Result<Vec<NetworkAttachment>, String> {
    let mut out = Vec::new();
    for target in &task.spec.networks {
        if let Some(kept) = task.networks.iter().find(|a| a.network_id == target.target) {
            out.push(kept.clone());
            continue;
        }
        let Some(network) = tables.networks.get(&target.target) else {
            return Err(format!("network {} no longer exists", target.target));
        };
        if !pools.contains_key(&network.id) {
            let pool = pool_of(tables, network)
                .ok_or_else(|| format!("network {} has no usable subnet", network.spec.name))?;
            pools.insert(network.id.clone(), pool);
        }
        let pool = pools.get_mut(&network.id).expect("inserted");
        let ip = pool.allocate().ok_or_else(|| {
            format!(
                "network {} ({}) has no free address",
                network.spec.name, network.spec.subnet
            )
        })?;
        out.push(NetworkAttachment {
            network_id: network.id.clone(),
            addr: ip.to_string(),
            mac: mac_for(ip),
        });
    }
    Ok(out)
}
