//! The node's embedded DNS: one zone built from the network view, served inside every local
//! container that is on a user network, on `127.0.0.11:53` over UDP and TCP as Docker's is,
//! so every container's resolv.conf is the same. The sockets are bound inside the
//! container's namespace (a socket stays in the namespace it was made in) and served by this
//! process; every query on them is answered for that container's networks, whatever its
//! source address. Names that are not the cluster's are forwarded from the node to the
//! host's own resolvers.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use dns::{Resolver, ServiceRecord, Zone};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};
use types::NetworkView;

use crate::error::{DataplaneError, Result};
use crate::netns;

pub use types::network::RESOLVER_ADDR;

pub struct NodeResolver {
    zone: watch::Sender<Arc<Zone>>,
    upstreams: Vec<SocketAddr>,
    /// Task ID → the token that stops its resolver.
    served: Mutex<HashMap<String, CancellationToken>>,
}

impl NodeResolver {
    /// `upstreams`: the host's resolvers (see [`dns::upstreams_from_resolv_conf`]).
    pub fn new(upstreams: Vec<SocketAddr>) -> NodeResolver {
        NodeResolver {
            zone: watch::Sender::new(Arc::new(Zone::new())),
            upstreams,
            served: Mutex::new(HashMap::new()),
        }
    }

    /// Answers from this view from the next query on.
    pub fn set_view(&self, view: &NetworkView) {
        let next = zone_of(view);
        self.zone.send_if_modified(|z| {
            let changed = **z != next;
            if changed {
                *z = Arc::new(next);
            }
            changed
        });
    }

    /// Serves DNS inside the namespace of `pid` for the task whose first user-network
    /// address is `client`. Idempotent: a task already served is left as it is.
    pub async fn serve(&self, task_id: &str, pid: u32, client: Ipv4Addr) -> Result<()> {
        if self.served.lock().expect("lock").contains_key(task_id) {
            return Ok(());
        }
        let (udp, tcp) = netns::run_in(netns::path_of_pid(pid), |_| async {
            let addr = SocketAddr::from((RESOLVER_ADDR, 53));
            let bind = || DataplaneError::io(format!("bind the resolver on {addr}"));
            let udp = std::net::UdpSocket::bind(addr).map_err(bind())?;
            let tcp = std::net::TcpListener::bind(addr).map_err(bind())?;
            Ok((udp, tcp))
        })
        .await?;
        let resolver = Resolver::from_std(
            udp,
            tcp,
            client.into(),
            self.zone.subscribe(),
            self.upstreams.clone(),
        )
        .map_err(|e| DataplaneError::InvalidInput(e.to_string()))?;
        let token = CancellationToken::new();
        tokio::spawn(resolver.run(token.clone()));
        info!(task = task_id, %client, "DNS served in the task's namespace");
        self.served
            .lock()
            .expect("lock")
            .insert(task_id.to_string(), token);
        Ok(())
    }

    /// Stops serving a task; one never served is fine.
    pub fn stop(&self, task_id: &str) {
        if let Some(token) = self.served.lock().expect("lock").remove(task_id) {
            debug!(
                task = task_id,
                "DNS no longer served in the task's namespace"
            );
            token.cancel();
        }
    }

    pub fn stop_all(&self) {
        for (_, token) in self.served.lock().expect("lock").drain() {
            token.cancel();
        }
    }
}

/// The zone of a view: every user network's services (VIP, or none in dnsrr mode), their
/// running tasks and aliases; and every task on a user network as a client of the networks
/// it is on, in network ID order (which answers a name present on several of them).
pub fn zone_of(view: &NetworkView) -> Zone {
    let mut zone = Zone::new();
    // Task → (its addresses on user networks, the networks they are on).
    let mut tasks: HashMap<&str, (Vec<Ipv4Addr>, Vec<String>)> = HashMap::new();
    for o in &view.overlays {
        for s in &o.services {
            let mut record = match s.vip.parse() {
                Ok(vip) => ServiceRecord::vip(&s.name, vip),
                Err(_) => ServiceRecord::dnsrr(&s.name),
            };
            for alias in &s.aliases {
                record = record.with_alias(alias);
            }
            for b in &s.backends {
                if let Ok(addr) = b.addr.parse() {
                    record = record.with_task(b.task_name(&s.name), addr);
                }
            }
            zone.add_service(&o.network.id, record);
        }
        for e in &o.endpoints {
            let (addrs, networks) = tasks.entry(&e.task_id).or_default();
            addrs.extend(e.addr.parse::<Ipv4Addr>());
            networks.push(o.network.id.clone());
        }
    }
    for (addrs, networks) in tasks.into_values() {
        for addr in addrs {
            zone.add_client(addr, networks.iter().cloned());
        }
    }
    zone
}

#[cfg(test)]
mod tests {
    use super::*;
    use dns::{resolve, Resolution};
    use hickory_proto::rr::RecordType;
    use types::{NamedService, Network, NetworkSpec, OverlayBackend, OverlayView, TaskEndpoint};

    fn ep(task: &str, addr: &str) -> TaskEndpoint {
        TaskEndpoint {
            task_id: task.into(),
            node_id: "n1".into(),
            addr: addr.into(),
            mac: String::new(),
        }
    }

    fn backend(task: &str, addr: &str, slot: u64) -> OverlayBackend {
        OverlayBackend {
            task_id: task.into(),
            node_id: "n1".into(),
            addr: addr.into(),
            slot,
        }
    }

    fn overlay(id: &str, endpoints: Vec<TaskEndpoint>, services: Vec<NamedService>) -> OverlayView {
        OverlayView {
            network: Network {
                id: id.into(),
                meta: Default::default(),
                spec: NetworkSpec::overlay(id),
            },
            endpoints,
            services,
        }
    }

    #[test]
    fn a_view_gives_each_task_the_names_of_its_networks() {
        let api = NamedService {
            service_id: "s1".into(),
            name: "api".into(),
            aliases: vec!["backend-api".into()],
            vip: "10.0.1.2".into(),
            backends: vec![backend("t1", "10.0.1.3", 1), backend("t2", "10.0.1.4", 2)],
        };
        let db = NamedService {
            service_id: "s2".into(),
            name: "db".into(),
            aliases: vec![],
            vip: String::new(),
            backends: vec![backend("t3", "10.0.1.5", 1)],
        };
        let view = NetworkView {
            overlays: vec![
                overlay(
                    "back",
                    vec![
                        ep("t1", "10.0.1.3"),
                        ep("t2", "10.0.1.4"),
                        ep("t3", "10.0.1.5"),
                        ep("w", "10.0.1.9"),
                    ],
                    vec![api, db],
                ),
                overlay(
                    "front",
                    vec![ep("w", "10.0.2.9"), ep("f", "10.0.2.10")],
                    vec![],
                ),
            ],
            ..Default::default()
        };
        let zone = zone_of(&view);
        let web = Ipv4Addr::new(10, 0, 2, 9);
        let ask = |client: Ipv4Addr, name: &str| resolve(&zone, client, name, RecordType::A);
        let ips = |v: &[&str]| Resolution::Answer(v.iter().map(|a| a.parse().unwrap()).collect());
        // `w` is on both networks: asked by either of its addresses, it sees back's names.
        assert_eq!(ask(web, "api"), ips(&["10.0.1.2"]));
        assert_eq!(
            ask(Ipv4Addr::new(10, 0, 1, 9), "backend-api"),
            ips(&["10.0.1.2"])
        );
        assert_eq!(ask(web, "tasks.api"), ips(&["10.0.1.3", "10.0.1.4"]));
        assert_eq!(ask(web, "db"), ips(&["10.0.1.5"]), "dnsrr: the tasks");
        assert_eq!(ask(web, "api.2.t2"), ips(&["10.0.1.4"]));
        // `f` is on front only: back's names are not its own.
        assert_eq!(ask(Ipv4Addr::new(10, 0, 2, 10), "api"), Resolution::NotOurs);
    }
}
