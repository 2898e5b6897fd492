//! User overlay networks: create (subnet and VNI allocated from the store, in the same write),
//! list, get, remove (refused while a service uses the network); and a service's networks:
//! names resolved to IDs and one virtual IP allocated per network in vip mode.

use std::time::Duration;

use api::control as pc;
use store::{Kind, Object, Store, Tables};
use types::validate::validate_network_spec;
use types::{EndpointMode, Network, NetworkSpec, ServiceSpec, TaskState, VirtualIp};

use super::error::ApiError;
use crate::allocator::ipam::IngressPool;
use crate::allocator::subnets::{check_subnet, choose_subnet, free_vni, pool_of};

pub fn list(store: &Store) -> Vec<Network> {
    store.view(|t| t.networks.values().cloned().collect())
}

/// A network by ID, name or unique ID prefix, as docker resolves them.
pub fn get(store: &Store, query: &str) -> Result<Network, ApiError> {
    Ok(store.view(|t| t.find_network(query).cloned())?)
}

pub async fn create(store: &Store, req: pc::CreateNetworkRequest) -> Result<Network, ApiError> {
    let mut spec = NetworkSpec::from(req.spec.ok_or_else(|| {
        ApiError::InvalidArgument("spec is missing; send the network's spec".into())
    })?);
    // Unset (zero) in a request means the overlay defaults, whichever client sent it.
    if spec.driver.is_empty() {
        spec.driver = types::network::OVERLAY_DRIVER.to_string();
    }
    if spec.mtu == 0 {
        spec.mtu = types::network::DEFAULT_OVERLAY_MTU;
    }
    if spec.vxlan_port == 0 {
        spec.vxlan_port = types::network::DEFAULT_VXLAN_PORT;
    }
    if spec.ingress {
        return Err(ApiError::InvalidArgument(
            "invalid spec.ingress: the cluster has its ingress network already; create a user network without --ingress".into(),
        ));
    }
    validate_network_spec(&spec)?;
    let id = store
        .update(|tables, tx| {
            if let Some(other) = tables.networks.values().find(|n| n.spec.name == spec.name) {
                return Err(ApiError::AlreadyExists(format!(
                    "a network named `{}` already exists ({}); choose another name",
                    spec.name, other.id
                )));
            }
            let cluster = tables.cluster().ok_or_else(|| {
                ApiError::FailedPrecondition("this manager has no cluster yet".into())
            })?;
            let mut spec = spec.clone();
            let subnet = match spec.subnet.as_str() {
                "" => choose_subnet(tables, &cluster.spec)?,
                given => {
                    let net = given.parse().expect("validated");
                    check_subnet(tables, net)?;
                    net
                }
            };
            spec.subnet = subnet.to_string();
            if spec.gateway.is_empty() {
                spec.gateway = IngressPool::new(&spec.subnet)
                    .expect("a valid subnet")
                    .gateway()
                    .to_string();
            }
            spec.vni = free_vni(tables)?;
            let id = types::new_id();
            tx.create(Object::Network(Network {
                id: id.clone(),
                meta: Default::default(),
                spec,
            }));
            Ok(id)
        })
        .await?;
    store
        .view(|t| t.networks.get(&id).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("network {id} was removed meanwhile")))
}

/// How long a removal waits for the tasks of removed services to leave the network.
const STOPPING_WAIT: Duration = Duration::from_secs(30);

/// Tasks attached to the network that `query` names: `(any, all of them are stopping)`.
fn attached_tasks(tables: &Tables, query: &str) -> (bool, bool) {
    let Ok(network) = tables.find_network(query) else {
        return (false, false);
    };
    let attached: Vec<&types::Task> = tables
        .tasks
        .values()
        .filter(|t| {
            t.status.state <= TaskState::Running
                && t.networks.iter().any(|a| a.network_id == network.id)
        })
        .collect();
    let stopping = attached
        .iter()
        .all(|t| t.desired_state > TaskState::Running);
    (!attached.is_empty(), stopping)
}

/// Removes a network no service uses and no task is still attached to. Tasks that are only
/// stopping (their service was just removed, as `stack rm` does right before removing its
/// networks) are waited for, up to [`STOPPING_WAIT`], rather than failing the removal.
pub async fn remove(store: &Store, query: &str) -> Result<(), ApiError> {
    let until = tokio::time::Instant::now() + STOPPING_WAIT;
    while tokio::time::Instant::now() < until
        && store.view(|t| attached_tasks(t, query)) == (true, true)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store
        .update(|tables, tx| {
            let network = tables.find_network(query)?;
            if network.spec.ingress {
                return Err(ApiError::FailedPrecondition(
                    "`ingress` carries the routing mesh and cannot be removed".into(),
                ));
            }
            let users: Vec<&str> = tables
                .services
                .values()
                .filter(|s| s.spec.task.networks.iter().any(|n| n.target == network.id))
                .map(|s| s.spec.name.as_str())
                .collect();
            if !users.is_empty() {
                return Err(ApiError::FailedPrecondition(format!(
                    "network `{}` is in use by service(s) {}; remove them or detach them with `swarmctl service update --network-rm {}`",
                    network.spec.name,
                    users.join(", "),
                    network.spec.name
                )));
            }
            if attached_tasks(tables, query).0 {
                return Err(ApiError::FailedPrecondition(format!(
                    "tasks are still attached to network `{}`; retry once they have stopped",
                    network.spec.name
                )));
            }
            tx.remove(Kind::Network, network.id.clone());
            Ok(())
        })
        .await
}

/// Resolves a spec's network names and ID prefixes to network IDs (as stored), and gives the
/// service its virtual IPs: the ones it had on networks it stays on, a new one per network it
/// joins, none in dnsrr mode.
pub fn attach(
    tables: &Tables,
    spec: &mut ServiceSpec,
    had: &[VirtualIp],
) -> Result<Vec<VirtualIp>, ApiError> {
    for (i, n) in spec.task.networks.iter_mut().enumerate() {
        let network = tables.find_network(&n.target).map_err(|e| {
            ApiError::InvalidArgument(format!(
                "invalid spec.task.networks[{i}].target: {e}; create it with `swarmctl network create {}`",
                n.target
            ))
        })?;
        if network.spec.ingress {
            return Err(ApiError::InvalidArgument(format!(
                "invalid spec.task.networks[{i}].target: services join `ingress` by publishing a port, not with --network"
            )));
        }
        n.target = network.id.clone();
    }
    let mut ids = std::collections::BTreeSet::new();
    if let Some(i) = spec
        .task
        .networks
        .iter()
        .position(|n| !ids.insert(&n.target))
    {
        return Err(ApiError::InvalidArgument(format!(
            "invalid spec.task.networks[{i}].target: the same network is given twice; attach it once"
        )));
    }
    if spec.endpoint.mode == EndpointMode::Dnsrr {
        return Ok(Vec::new());
    }
    let mut vips = Vec::new();
    for n in &spec.task.networks {
        if let Some(kept) = had.iter().find(|v| v.network_id == n.target) {
            vips.push(kept.clone());
            continue;
        }
        let network = &tables.networks[&n.target];
        let addr = pool_of(tables, network)
            .and_then(|mut p| p.allocate())
            .ok_or_else(|| {
                ApiError::FailedPrecondition(format!(
                    "network `{}` ({}) has no free address for a virtual IP; use a larger subnet",
                    network.spec.name, network.spec.subnet
                ))
            })?;
        vips.push(VirtualIp {
            network_id: n.target.clone(),
            addr: addr.to_string(),
        });
    }
    Ok(vips)
}
