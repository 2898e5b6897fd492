//! What one node's resolver knows, as plain data: the services on each network and which
//! networks each local container is attached to. The caller rebuilds a whole `Zone` from the
//! node's network view and swaps it in; nothing here changes a zone in place, so a query
//! always sees one consistent snapshot.

use std::collections::HashMap;
use std::net::Ipv4Addr;

/// One running task of a service, as it is reachable on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The task's DNS name, `SERVICE.SLOT.TASKID` as swarm names task containers, so that
    /// a task can be addressed on its own (debugging, stateful peers).
    pub name: String,
    /// The task's address on this network.
    pub addr: Ipv4Addr,
}

/// One service as seen on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRecord {
    /// The service name, answered with the VIP or, in dnsrr mode, the task addresses.
    pub name: String,
    /// Network-scoped aliases of the service, answered like the name, but only on the network
    /// where they are declared (the zone holds them per network, so that follows).
    pub aliases: Vec<String>,
    /// The service's virtual IP on this network; `None` means dnsrr: the name resolves to
    /// the tasks themselves.
    pub vip: Option<Ipv4Addr>,
    /// The running tasks only: the caller filters, so that a stopped task is never answered.
    pub tasks: Vec<TaskRecord>,
}

impl ServiceRecord {
    /// A service in VIP mode.
    pub fn vip(name: impl Into<String>, vip: Ipv4Addr) -> ServiceRecord {
        ServiceRecord {
            name: name.into(),
            aliases: Vec::new(),
            vip: Some(vip),
            tasks: Vec::new(),
        }
    }

    /// A service in dnsrr mode.
    pub fn dnsrr(name: impl Into<String>) -> ServiceRecord {
        ServiceRecord {
            name: name.into(),
            aliases: Vec::new(),
            vip: None,
            tasks: Vec::new(),
        }
    }

    /// Adds a network-scoped alias.
    #[must_use]
    pub fn with_alias(mut self, alias: impl Into<String>) -> ServiceRecord {
        self.aliases.push(alias.into());
        self
    }

    /// Adds a running task.
    #[must_use]
    pub fn with_task(mut self, name: impl Into<String>, addr: Ipv4Addr) -> ServiceRecord {
        self.tasks.push(TaskRecord {
            name: name.into(),
            addr,
        });
        self
    }
}

/// Everything the resolver of one node answers from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// Services per network ID. A service attached to two networks appears under both, each
    /// time with its addresses on that network.
    networks: HashMap<String, Vec<ServiceRecord>>,
    /// For each local container address, the networks of that container, in the order that
    /// decides which network answers a name present on several of them.
    clients: HashMap<Ipv4Addr, Vec<String>>,
}

impl Zone {
    /// A zone that knows nothing: every query is forwarded.
    pub fn new() -> Zone {
        Zone::default()
    }

    /// Adds `service` on `network`.
    #[must_use]
    pub fn with_service(mut self, network: impl Into<String>, service: ServiceRecord) -> Zone {
        self.add_service(network, service);
        self
    }

    /// Declares the container whose address is `addr` attached to `networks`, first one
    /// first. A container with addresses on several networks is declared once per address,
    /// each time with all its networks.
    #[must_use]
    pub fn with_client<N: Into<String>>(
        mut self,
        addr: Ipv4Addr,
        networks: impl IntoIterator<Item = N>,
    ) -> Zone {
        self.add_client(addr, networks);
        self
    }

    /// As [`Zone::with_service`], for callers filling a zone in a loop.
    pub fn add_service(&mut self, network: impl Into<String>, service: ServiceRecord) {
        self.networks
            .entry(network.into())
            .or_default()
            .push(service);
    }

    /// As [`Zone::with_client`], for callers filling a zone in a loop.
    pub fn add_client<N: Into<String>>(
        &mut self,
        addr: Ipv4Addr,
        networks: impl IntoIterator<Item = N>,
    ) {
        self.clients
            .insert(addr, networks.into_iter().map(Into::into).collect());
    }

    /// The networks of the container at `client`, in its order; `None` for an address that
    /// is no local container.
    pub fn networks_of(&self, client: Ipv4Addr) -> Option<&[String]> {
        self.clients.get(&client).map(Vec::as_slice)
    }

    /// The services on `network`; none for a network the zone does not know.
    pub fn services_on(&self, network: &str) -> &[ServiceRecord] {
        self.networks.get(network).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_keep_their_network_order_and_services_stay_per_network() {
        let web = ServiceRecord::vip("web", Ipv4Addr::new(10, 0, 0, 2));
        let db = ServiceRecord::dnsrr("db").with_task("db.1.x", Ipv4Addr::new(10, 1, 0, 3));
        let zone = Zone::new()
            .with_service("front", web.clone())
            .with_service("back", db.clone())
            .with_client(Ipv4Addr::new(10, 0, 0, 9), ["back", "front"]);

        assert_eq!(
            zone.networks_of(Ipv4Addr::new(10, 0, 0, 9)),
            Some(&["back".to_string(), "front".to_string()][..])
        );
        assert_eq!(zone.networks_of(Ipv4Addr::new(10, 0, 0, 10)), None);
        assert_eq!(zone.services_on("front"), &[web]);
        assert_eq!(zone.services_on("back"), &[db]);
        assert!(zone.services_on("other").is_empty());
    }
}
