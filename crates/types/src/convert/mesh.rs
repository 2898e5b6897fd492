//! A node's mesh table and mesh connections (read back from its kernel) on their way to
//! `swarmctl node mesh` / `service conns`. Only domain → wire: nothing reads them back in.

use api::control as pc;
use api::dispatcher as pd;

use crate::mesh::{MeshConn, MeshTable, VirtualService};
use crate::service::PublishMode;

impl From<MeshTable> for pc::MeshTable {
    fn from(t: MeshTable) -> Self {
        pc::MeshTable {
            backend: t.backend.as_str().to_string(),
            raw: t.raw,
            services: t.services.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }
}

impl From<VirtualService> for pc::MeshVirtualService {
    fn from(s: VirtualService) -> Self {
        let forward = match s.mode {
            PublishMode::Host => "dnat-host",
            PublishMode::Ingress => "Masq",
        };
        pc::MeshVirtualService {
            protocol: match s.fwmark {
                Some(_) => "FWM".to_string(),
                None => s.protocol.as_str().to_uppercase(),
            },
            key: match s.fwmark {
                Some(mark) => mark.to_string(),
                None => format!("0.0.0.0:{}", s.port),
            },
            published_port: u32::from(s.port),
            scheduler: s.scheduler,
            service_name: s.service_name,
            backends: s
                .backends
                .into_iter()
                .map(|b| pc::MeshBackendEntry {
                    addr: b.to_string(),
                    forward: forward.to_string(),
                    weight: 1,
                    ..Default::default()
                })
                .collect(),
        }
    }
}

impl From<MeshConn> for pd::MeshConn {
    fn from(c: MeshConn) -> Self {
        pd::MeshConn {
            protocol: c.protocol.as_str().to_string(),
            client: c.original.src.to_string(),
            published: c.original.dst.to_string(),
            backend: c.reply.src.to_string(),
            state: c.state,
            timeout_secs: c.timeout_secs,
            age_secs: c.age_secs.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::MeshBackendKind;
    use crate::service::PortProtocol;

    #[test]
    fn ports_and_fwmarks_read_like_ipvsadm() {
        let table = MeshTable {
            backend: MeshBackendKind::Ipvs,
            services: vec![
                VirtualService {
                    protocol: PortProtocol::Tcp,
                    port: 8080,
                    mode: PublishMode::Ingress,
                    service_name: "web".into(),
                    scheduler: "rr".into(),
                    fwmark: Some(0x5700_1f90),
                    backends: vec!["10.255.0.5:80".parse().unwrap()],
                },
                VirtualService {
                    protocol: PortProtocol::Udp,
                    port: 53,
                    mode: PublishMode::Host,
                    service_name: "dns".into(),
                    scheduler: "numgen-inc".into(),
                    fwmark: None,
                    backends: vec!["10.255.0.6:5353".parse().unwrap()],
                },
            ],
            raw: "raw".into(),
        };
        let wire = pc::MeshTable::from(table);
        assert_eq!(wire.backend, "ipvs");
        assert_eq!(
            (
                wire.services[0].protocol.as_str(),
                wire.services[0].key.as_str()
            ),
            ("FWM", "1459625872")
        );
        assert_eq!(wire.services[0].backends[0].forward, "Masq");
        assert_eq!(
            (
                wire.services[1].protocol.as_str(),
                wire.services[1].key.as_str()
            ),
            ("UDP", "0.0.0.0:53")
        );
        assert_eq!(wire.services[1].backends[0].addr, "10.255.0.6:5353");
        assert_eq!(wire.services[1].backends[0].forward, "dnat-host");
    }
}
