//! What services hold cluster-wide — a name (regardless of case) and ingress-published
//! ports — indexed by the claim, so checking a write costs a lookup. Checking by scanning every
//! service made each write O(services) on every manager, and a burst of creations quadratic.

use std::collections::BTreeSet;

use types::{PortConfig, PortProtocol, PublishMode, Service};

/// Derived from the services table alone; [`Tables`](crate::Tables) keeps it in step with every
/// write it applies ([`Tables::claims`](crate::Tables::claims)). Each claim maps to the services
/// holding it, so a state that somehow holds a duplicate (written before these checks existed)
/// still indexes both holders.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    /// (lower-case name, service ID): one entry per service.
    names: BTreeSet<(String, String)>,
    /// (protocol, published port, service ID) of every ingress port published.
    ports: BTreeSet<(PortProtocol, u32, String)>,
}

/// The ports of a service that only it may publish in the cluster.
fn ingress_ports(s: &Service) -> impl Iterator<Item = &PortConfig> {
    s.endpoint_ports
        .iter()
        .filter(|p| p.publish_mode == PublishMode::Ingress && p.published_port != 0)
}

impl Claims {
    pub(crate) fn of<'a>(services: impl IntoIterator<Item = &'a Service>) -> Claims {
        let mut claims = Claims::default();
        for s in services {
            claims.add(s);
        }
        claims
    }

    /// How many services are indexed: the services table's length while the index is current.
    pub(crate) fn services(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn add(&mut self, s: &Service) {
        self.names
            .insert((s.spec.name.to_ascii_lowercase(), s.id.clone()));
        for p in ingress_ports(s) {
            self.ports
                .insert((p.protocol, p.published_port, s.id.clone()));
        }
    }

    /// Drops what `s` (as stored) held.
    pub(crate) fn remove(&mut self, s: &Service) {
        self.names
            .remove(&(s.spec.name.to_ascii_lowercase(), s.id.clone()));
        for p in ingress_ports(s) {
            self.ports
                .remove(&(p.protocol, p.published_port, s.id.clone()));
        }
    }

    /// The IDs of the services named `name`, regardless of case.
    pub fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        let key = name.to_ascii_lowercase();
        self.names
            .range((key.clone(), String::new())..)
            .take_while(move |(n, _)| *n == key)
            .map(|(_, id)| id.as_str())
    }

    /// The IDs of the services publishing `port`/`protocol` in ingress mode.
    pub fn publishing(&self, protocol: PortProtocol, port: u32) -> impl Iterator<Item = &str> {
        self.ports
            .range((protocol, port, String::new())..)
            .take_while(move |(p, n, _)| *p == protocol && *n == port)
            .map(|(_, _, id)| id.as_str())
    }

    /// The first claim of `s` that another service holds, as (what, holder's ID).
    pub(crate) fn clash<'a>(&'a self, s: &Service) -> Option<(Clash, &'a str)> {
        if let Some(other) = self.named(&s.spec.name).find(|id| *id != s.id) {
            return Some((Clash::Name, other));
        }
        for p in ingress_ports(s) {
            if let Some(other) = self
                .publishing(p.protocol, p.published_port)
                .find(|id| *id != s.id)
            {
                return Some((Clash::Port(*p), other));
            }
        }
        None
    }
}

/// Which claim of a service another one holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Clash {
    Name,
    Port(PortConfig),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(id: &str, name: &str, ports: &[(u32, PublishMode)]) -> Service {
        let mut s = Service {
            id: id.into(),
            ..Default::default()
        };
        s.spec.name = name.into();
        s.endpoint_ports = ports
            .iter()
            .map(|&(published_port, publish_mode)| PortConfig {
                target_port: 80,
                published_port,
                publish_mode,
                ..Default::default()
            })
            .collect();
        s
    }

    #[test]
    fn names_clash_regardless_of_case_and_not_with_themselves() {
        let web = service("s1", "Web", &[]);
        let claims = Claims::of([&web]);
        assert_eq!(claims.clash(&web), None);
        assert_eq!(
            claims.clash(&service("s2", "wEB", &[])),
            Some((Clash::Name, "s1"))
        );
        assert_eq!(claims.clash(&service("s2", "web2", &[])), None);
        // A prefix of a taken name is free.
        assert_eq!(claims.clash(&service("s2", "We", &[])), None);
    }

    #[test]
    fn only_ingress_ports_clash() {
        let edge = service(
            "s1",
            "edge",
            &[(8080, PublishMode::Ingress), (9090, PublishMode::Host)],
        );
        let claims = Claims::of([&edge]);
        let api = service("s2", "api", &[(8080, PublishMode::Ingress)]);
        assert!(
            matches!(claims.clash(&api), Some((Clash::Port(p), "s1")) if p.published_port == 8080)
        );
        assert_eq!(
            claims.clash(&service("s2", "api", &[(9090, PublishMode::Ingress)])),
            None
        );
        assert_eq!(
            claims.clash(&service("s2", "api", &[(8080, PublishMode::Host)])),
            None
        );
        let mut udp = service("s2", "api", &[(8080, PublishMode::Ingress)]);
        udp.endpoint_ports[0].protocol = PortProtocol::Udp;
        assert_eq!(claims.clash(&udp), None);
    }

    #[test]
    fn removing_frees_the_claims_and_keeps_a_duplicate_holder() {
        let a = service("s1", "web", &[(8080, PublishMode::Ingress)]);
        let b = service("s2", "web", &[(8080, PublishMode::Ingress)]);
        let mut claims = Claims::of([&a, &b]);
        assert_eq!(claims.services(), 2);
        claims.remove(&a);
        assert_eq!(claims.named("WEB").collect::<Vec<_>>(), ["s2"]);
        assert_eq!(
            claims
                .publishing(PortProtocol::Tcp, 8080)
                .collect::<Vec<_>>(),
            ["s2"]
        );
        claims.remove(&b);
        assert_eq!(
            claims.clash(&service("s3", "web", &[(8080, PublishMode::Ingress)])),
            None
        );
        assert_eq!(claims.services(), 0);
    }
}
