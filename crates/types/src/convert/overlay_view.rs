//! The user networks of the dispatcher's NetworkView.

use api::dispatcher as pd;

use super::ConvertError;
use crate::netview::{NamedService, OverlayBackend, OverlayView};

impl From<OverlayBackend> for pd::OverlayBackend {
    fn from(b: OverlayBackend) -> Self {
        pd::OverlayBackend {
            task_id: b.task_id,
            node_id: b.node_id,
            addr: b.addr,
            slot: b.slot,
        }
    }
}

impl From<pd::OverlayBackend> for OverlayBackend {
    fn from(b: pd::OverlayBackend) -> Self {
        OverlayBackend {
            task_id: b.task_id,
            node_id: b.node_id,
            addr: b.addr,
            slot: b.slot,
        }
    }
}

impl From<NamedService> for pd::NamedService {
    fn from(s: NamedService) -> Self {
        pd::NamedService {
            service_id: s.service_id,
            name: s.name,
            aliases: s.aliases,
            vip: s.vip,
            backends: s.backends.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<pd::NamedService> for NamedService {
    fn from(s: pd::NamedService) -> Self {
        NamedService {
            service_id: s.service_id,
            name: s.name,
            aliases: s.aliases,
            vip: s.vip,
            backends: s.backends.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<OverlayView> for pd::OverlayView {
    fn from(o: OverlayView) -> Self {
        pd::OverlayView {
            network: Some(o.network.into()),
            endpoints: o.endpoints.into_iter().map(Into::into).collect(),
            services: o.services.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pd::OverlayView> for OverlayView {
    type Error = ConvertError;
    fn try_from(o: pd::OverlayView) -> Result<Self, ConvertError> {
        // An absent network would decode as the default ingress: refuse it instead.
        let network = o.network.ok_or(ConvertError::Missing("overlay.network"))?;
        Ok(OverlayView {
            network: network.into(),
            endpoints: o.endpoints.into_iter().map(Into::into).collect(),
            services: o.services.into_iter().map(Into::into).collect(),
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::netview::{NetworkView, TaskEndpoint};
    use crate::network::{Network, NetworkSpec};

    pub(crate) fn sample() -> OverlayView {
        OverlayView {
            network: Network {
                id: "net1".into(),
                meta: Default::default(),
                spec: NetworkSpec {
                    subnet: "10.0.1.0/24".into(),
                    gateway: "10.0.1.1".into(),
                    vni: 4097,
                    ..NetworkSpec::overlay("back")
                },
            },
            endpoints: vec![TaskEndpoint {
                task_id: "t1".into(),
                node_id: "n1".into(),
                addr: "10.0.1.3".into(),
                mac: "02:42:0a:00:01:03".into(),
            }],
            services: vec![NamedService {
                service_id: "s1".into(),
                name: "db".into(),
                aliases: vec!["postgres".into()],
                vip: "10.0.1.2".into(),
                backends: vec![OverlayBackend {
                    task_id: "t1".into(),
                    node_id: "n1".into(),
                    addr: "10.0.1.3".into(),
                    slot: 1,
                }],
            }],
        }
    }

    #[test]
    fn overlays_round_trip_and_a_missing_network_is_refused() {
        let v = NetworkView {
            overlays: vec![sample()],
            ..Default::default()
        };
        let wire = pd::NetworkView::from(v.clone());
        assert_eq!(NetworkView::try_from(wire).unwrap(), v);
        let broken = pd::OverlayView::default();
        assert!(OverlayView::try_from(broken).is_err());
    }

    #[test]
    fn task_names_are_dockers() {
        let b = &sample().services[0].backends[0];
        assert_eq!(b.task_name("db"), "db.1.t1");
        let global = OverlayBackend {
            slot: 0,
            ..b.clone()
        };
        assert_eq!(global.task_name("db"), "db.n1.t1");
    }
}
