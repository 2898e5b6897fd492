//! Virtual IPs, balanced on the client's side as Swarm does (it programs IPVS inside every
//! container's namespace): each local task on a user network gets, in its own namespace, an
//! nftables table that sends connections to a service's VIP on its networks round robin to
//! the service's running (and healthy) tasks there, and refuses them while it has none.
//! Conntrack in that namespace keeps a connection on its backend and undoes the NAT on the
//! replies, so a backend sees the client's own address.
//!
//! The same table keeps a task whose user networks are all `--internal` inside the cluster:
//! nothing leaves its ingress interface except to the ingress subnet (the routing mesh's
//! replies), so it has no egress, as Docker's internal networks have none.
//!
//! The table is rendered as data from the view (pure, tested) and loaded with one `nft -f`
//! transaction inside the task's namespace only when it changes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use tracing::{debug, warn};
use types::OverlayView;

use crate::error::Result;
use crate::mesh::nft::run_script;
use crate::netns;

const TABLE: &str = "swarm_vip";

/// VIP → its backends, for the networks one task is on.
pub fn vip_backends(
    overlays: &[OverlayView],
    networks: &[String],
) -> BTreeMap<Ipv4Addr, Vec<Ipv4Addr>> {
    let mut out = BTreeMap::new();
    for o in overlays.iter().filter(|o| networks.contains(&o.network.id)) {
        for s in &o.services {
            let Ok(vip) = s.vip.parse::<Ipv4Addr>() else {
                continue; // dnsrr: no VIP
            };
            let mut backends: Vec<Ipv4Addr> = s
                .backends
                .iter()
                .filter_map(|b| b.addr.parse().ok())
                .collect();
            backends.sort();
            out.insert(vip, backends);
        }
    }
    out
}

/// The ingress subnet when the task must have no egress: every one of its user networks
/// is internal.
pub fn egress_blocked(
    overlays: &[OverlayView],
    networks: &[String],
    ingress: Option<Ipv4Net>,
) -> Option<Ipv4Net> {
    let mine: Vec<&OverlayView> = overlays
        .iter()
        .filter(|o| networks.contains(&o.network.id))
        .collect();
    let all_internal = !mine.is_empty() && mine.iter().all(|o| o.network.spec.internal);
    ingress.filter(|_| all_internal)
}

/// The whole table, replacing any earlier one in one transaction.
pub fn render(vips: &BTreeMap<Ipv4Addr, Vec<Ipv4Addr>>, no_egress: Option<Ipv4Net>) -> String {
    let mut nat = String::new();
    let mut refuse = String::new();
    if let Some(ingress) = no_egress {
        writeln!(refuse, "    oifname \"eth0\" ip daddr != {ingress} reject").unwrap();
    }
    for (vip, backends) in vips {
        if backends.is_empty() {
            writeln!(refuse, "    ip daddr {vip} reject").unwrap();
            continue;
        }
        let map: Vec<String> = backends
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{i} : {b}"))
            .collect();
        writeln!(
            nat,
            "    ip daddr {vip} dnat to numgen inc mod {} map {{ {} }}",
            backends.len(),
            map.join(", ")
        )
        .unwrap();
    }
    format!(
        "table ip {TABLE} {{}}\ndelete table ip {TABLE}\ntable ip {TABLE} {{\n  chain nat_out {{\n    type nat hook output priority -100; policy accept;\n{nat}  }}\n  chain filter_out {{\n    type filter hook output priority 0; policy accept;\n{refuse}  }}\n}}\n"
    )
}

/// A local task on user networks and the table last loaded in its namespace.
struct Client {
    pid: u32,
    networks: Vec<String>,
    loaded: Option<String>,
}

/// The VIP tables of this node's tasks.
#[derive(Default)]
pub struct VipTables {
    clients: BTreeMap<String, Client>,
}

impl VipTables {
    /// Records that `task_id` (namespace of `pid`) is on `network_id`.
    pub fn add(&mut self, task_id: &str, pid: u32, network_id: &str) {
        let c = self.clients.entry(task_id.to_string()).or_insert(Client {
            pid,
            networks: Vec::new(),
            loaded: None,
        });
        if c.pid != pid {
            c.pid = pid;
            c.loaded = None;
        }
        if !c.networks.iter().any(|n| n == network_id) {
            c.networks.push(network_id.to_string());
        }
    }

    pub fn remove(&mut self, task_id: &str) {
        self.clients.remove(task_id);
    }

    /// Loads every table that `overlays` changes (all of them with `force`). A task whose
    /// namespace is gone (its container ended) is forgotten.
    pub async fn sync(
        &mut self,
        overlays: &[OverlayView],
        ingress: Option<Ipv4Net>,
        force: bool,
    ) -> Result<()> {
        let mut gone = Vec::new();
        let mut first_error = None;
        for (task_id, c) in &mut self.clients {
            let no_egress = egress_blocked(overlays, &c.networks, ingress);
            let script = render(&vip_backends(overlays, &c.networks), no_egress);
            if !force && c.loaded.as_deref() == Some(script.as_str()) {
                continue;
            }
            let path = netns::path_of_pid(c.pid);
            if !path.exists() {
                gone.push(task_id.clone());
                continue;
            }
            let s = script.clone();
            let ctx = format!("VIP table of task {task_id}");
            match netns::run_in(path, move |_| async move { run_script(&s, &ctx).await }).await {
                Ok(()) => {
                    debug!(task = %task_id, "VIP table loaded");
                    c.loaded = Some(script);
                }
                Err(e) => {
                    warn!(task = %task_id, error = %e, "could not load a VIP table");
                    first_error.get_or_insert(e);
                }
            }
        }
        for t in gone {
            self.clients.remove(&t);
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{NamedService, Network, NetworkSpec, OverlayBackend};

    fn svc(name: &str, vip: &str, backends: &[&str]) -> NamedService {
        NamedService {
            service_id: name.into(),
            name: name.into(),
            aliases: vec![],
            vip: vip.into(),
            backends: backends
                .iter()
                .map(|a| OverlayBackend {
                    task_id: format!("t-{a}"),
                    node_id: "n1".into(),
                    addr: a.to_string(),
                    slot: 1,
                })
                .collect(),
        }
    }

    fn net(id: &str, services: Vec<NamedService>) -> OverlayView {
        OverlayView {
            network: Network {
                id: id.into(),
                meta: Default::default(),
                spec: NetworkSpec::overlay(id),
            },
            endpoints: vec![],
            services,
        }
    }

    #[test]
    fn a_task_balances_the_vips_of_its_networks_only() {
        let overlays = vec![
            net(
                "back",
                vec![
                    svc("api", "10.0.1.2", &["10.0.1.4", "10.0.1.3"]),
                    svc("db", "", &["10.0.1.9"]),
                ],
            ),
            net("front", vec![svc("web", "10.0.2.2", &[])]),
        ];
        let on_back = vip_backends(&overlays, &["back".into()]);
        assert_eq!(on_back.len(), 1, "dnsrr has no VIP");
        let script = render(&on_back, None);
        assert!(
            script.contains(
                "ip daddr 10.0.1.2 dnat to numgen inc mod 2 map { 0 : 10.0.1.3, 1 : 10.0.1.4 }"
            ),
            "{script}"
        );
        assert!(
            !script.contains("10.0.2.2"),
            "front's VIP on a back-only task"
        );
        let both = render(
            &vip_backends(&overlays, &["back".into(), "front".into()]),
            None,
        );
        assert!(
            both.contains("ip daddr 10.0.2.2 reject"),
            "no backend: refused\n{both}"
        );
        assert!(script.starts_with("table ip swarm_vip {}\ndelete table ip swarm_vip\n"));
        assert!(!script.contains("oifname"));
    }

    #[test]
    fn only_a_task_on_internal_networks_alone_loses_egress() {
        let mut overlays = vec![net("back", vec![]), net("front", vec![])];
        overlays[0].network.spec.internal = true;
        let ingress: Ipv4Net = "10.255.0.0/16".parse().unwrap();
        let back = ["back".to_string()];
        let both = ["back".to_string(), "front".to_string()];
        assert_eq!(
            egress_blocked(&overlays, &back, Some(ingress)),
            Some(ingress)
        );
        assert_eq!(egress_blocked(&overlays, &both, Some(ingress)), None);
        assert_eq!(egress_blocked(&overlays, &[], Some(ingress)), None);
        let script = render(&BTreeMap::new(), Some(ingress));
        assert!(
            script.contains("oifname \"eth0\" ip daddr != 10.255.0.0/16 reject"),
            "{script}"
        );
    }
}
