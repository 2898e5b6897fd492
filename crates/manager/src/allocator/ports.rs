//! Published ports: unique cluster-wide in ingress mode, `0` meaning "pick one" from
//! 30000-32767. Called by the control API inside the write that stores a service, so the check
//! and the allocation see the same state.

use std::collections::BTreeSet;

use store::Tables;
use types::{PortConfig, PortProtocol, PublishMode};

/// The range ingress ports published as `0` are taken from (Docker's).
pub const DYNAMIC_PORT_MIN: u32 = 30000;
pub const DYNAMIC_PORT_MAX: u32 = 32767;

fn dynamic_ports() -> std::ops::RangeInclusive<u32> {
    DYNAMIC_PORT_MIN..=DYNAMIC_PORT_MAX
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("port {port}/{protocol} is already published by service {service}; choose another published port")]
    InUse {
        port: u32,
        protocol: &'static str,
        service: String,
    },
    #[error("port {port}/{protocol} is published twice by this service; publish it once")]
    Duplicate { port: u32, protocol: &'static str },
    #[error(
        "no free {protocol} port left in 30000-32767; publish an explicit port or remove services"
    )]
    Exhausted { protocol: &'static str },
}

/// The service's ports with every ingress port published as `0` given a free port. Ingress
/// ports must not be published by another service; host-mode ports are per node and are
/// checked by the scheduler, not here. An update keeps the ports the service already had for
/// the same target, so `service update` does not move a dynamically published port.
pub fn allocate_published_ports(
    existing: &Tables,
    service_id: &str,
    ports: &[PortConfig],
) -> Result<Vec<PortConfig>, PortError> {
    // Looked up in the store's index, not gathered from every service: this runs inside each
    // service write.
    let claims = existing.claims();
    let taken = |protocol: PortProtocol, port: u32| {
        claims
            .publishing(protocol, port)
            .find(|id| *id != service_id)
            .map(|id| {
                existing
                    .services
                    .get(id)
                    .map_or(id, |s| s.spec.name.as_str())
            })
    };

    let mut claimed: BTreeSet<(PublishMode, PortProtocol, u32)> = BTreeSet::new();
    for p in ports.iter().filter(|p| p.published_port != 0) {
        if p.publish_mode == PublishMode::Ingress {
            if let Some(service) = taken(p.protocol, p.published_port) {
                return Err(PortError::InUse {
                    port: p.published_port,
                    protocol: p.protocol.as_str(),
                    service: service.to_string(),
                });
            }
        }
        if !claimed.insert((p.publish_mode, p.protocol, p.published_port)) {
            return Err(PortError::Duplicate {
                port: p.published_port,
                protocol: p.protocol.as_str(),
            });
        }
    }

    let previous: Vec<PortConfig> = existing
        .services
        .get(service_id)
        .map(|s| s.endpoint_ports.clone())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(ports.len());
    for p in ports {
        let mut p = *p;
        if p.publish_mode == PublishMode::Ingress && p.published_port == 0 {
            let free = |port: u32| {
                taken(p.protocol, port).is_none()
                    && !claimed.contains(&(PublishMode::Ingress, p.protocol, port))
            };
            let kept = previous
                .iter()
                .filter(|q| is_ingress(q) && q.protocol == p.protocol)
                .filter(|q| q.target_port == p.target_port)
                .map(|q| q.published_port)
                .find(|&port| dynamic_ports().contains(&port) && free(port));
            let port = kept
                .or_else(|| dynamic_ports().find(|&port| free(port)))
                .ok_or(PortError::Exhausted {
                    protocol: p.protocol.as_str(),
                })?;
            claimed.insert((PublishMode::Ingress, p.protocol, port));
            p.published_port = port;
        }
        out.push(p);
    }
    Ok(out)
}

fn is_ingress(p: &PortConfig) -> bool {
    p.publish_mode == PublishMode::Ingress && p.published_port != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::Service;

    fn port(published: u32, target: u32, protocol: PortProtocol, mode: PublishMode) -> PortConfig {
        PortConfig {
            protocol,
            target_port: target,
            published_port: published,
            publish_mode: mode,
        }
    }

    fn ingress(published: u32, target: u32) -> PortConfig {
        port(published, target, PortProtocol::Tcp, PublishMode::Ingress)
    }

    fn with_service(t: &mut Tables, id: &str, name: &str, ports: Vec<PortConfig>) {
        let mut s = Service {
            id: id.into(),
            endpoint_ports: ports,
            ..Default::default()
        };
        s.spec.name = name.into();
        t.services.insert(id.into(), s);
    }

    #[test]
    fn ingress_conflict_names_the_port_and_the_service() {
        let mut t = Tables::default();
        with_service(&mut t, "a", "web", vec![ingress(8080, 80)]);
        let err = allocate_published_ports(&t, "b", &[ingress(8080, 81)]).unwrap_err();
        assert_eq!(
            err,
            PortError::InUse {
                port: 8080,
                protocol: "tcp",
                service: "web".into()
            }
        );
        assert!(err.to_string().contains("8080/tcp"));
        assert!(err.to_string().contains("web"));
        // Another protocol on the same number is a different port.
        let udp = port(8080, 53, PortProtocol::Udp, PublishMode::Ingress);
        assert_eq!(
            allocate_published_ports(&t, "b", &[udp]).unwrap(),
            vec![udp]
        );
        // The service itself may keep its own port on update.
        assert!(allocate_published_ports(&t, "a", &[ingress(8080, 80)]).is_ok());
    }

    #[test]
    fn zero_gets_the_lowest_free_dynamic_port() {
        let mut t = Tables::default();
        with_service(
            &mut t,
            "a",
            "web",
            vec![ingress(30000, 80), ingress(30002, 81)],
        );
        let got = allocate_published_ports(
            &t,
            "b",
            &[ingress(0, 80), ingress(0, 81), ingress(30001, 82)],
        )
        .unwrap();
        let published: Vec<u32> = got.iter().map(|p| p.published_port).collect();
        assert_eq!(published, vec![30003, 30004, 30001]);
    }

    #[test]
    fn update_keeps_a_dynamically_published_port() {
        let mut t = Tables::default();
        with_service(&mut t, "a", "web", vec![ingress(30005, 80)]);
        let got = allocate_published_ports(&t, "a", &[ingress(0, 80), ingress(0, 90)]).unwrap();
        assert_eq!(got[0].published_port, 30005);
        assert_eq!(got[1].published_port, 30000);
    }

    #[test]
    fn host_mode_is_not_unique_cluster_wide_but_not_twice_in_one_service() {
        let mut t = Tables::default();
        let host = port(8080, 80, PortProtocol::Tcp, PublishMode::Host);
        with_service(&mut t, "a", "web", vec![host]);
        assert_eq!(
            allocate_published_ports(&t, "b", &[host]).unwrap(),
            vec![host]
        );
        assert_eq!(
            allocate_published_ports(&t, "b", &[host, host]).unwrap_err(),
            PortError::Duplicate {
                port: 8080,
                protocol: "tcp"
            }
        );
        assert!(allocate_published_ports(&t, "b", &[ingress(9000, 1), ingress(9000, 2)]).is_err());
    }

    #[test]
    fn exhausted_range_is_an_error() {
        let mut t = Tables::default();
        let all: Vec<PortConfig> = dynamic_ports().map(|p| ingress(p, 80)).collect();
        with_service(&mut t, "a", "web", all);
        let err = allocate_published_ports(&t, "b", &[ingress(0, 80)]).unwrap_err();
        assert_eq!(err, PortError::Exhausted { protocol: "tcp" });
    }
}
