//! The dispatcher's NetworkViewDelta: a [`ViewDiff`] on the wire. The base version it applies
//! to is the session's business and is set by the sender.

use api::dispatcher as pd;

use super::ConvertError;
use crate::netview::{MeshBackend, MeshService, NodePeer, OverlayView, TaskEndpoint};
use crate::netview_diff::{Changes, ViewDiff};

/// Upserted values and removed keys of `changes`.
fn split<T: Clone + Into<W>, W>(changes: &Changes<T>) -> (Vec<W>, Vec<String>) {
    let mut set = Vec::new();
    let mut removed = Vec::new();
    for (key, change) in changes {
        match change {
            Some(v) => set.push(v.clone().into()),
            None => removed.push(key.clone()),
        }
    }
    (set, removed)
}

/// The inverse of [`split`]: each value under the key `key` gives it.
fn join<T, W>(
    set: Vec<W>,
    removed: Vec<String>,
    convert: impl Fn(W) -> Result<T, ConvertError>,
    key: fn(&T) -> &str,
) -> Result<Changes<T>, ConvertError> {
    let mut out: Changes<T> = removed.into_iter().map(|k| (k, None)).collect();
    for w in set {
        let v = convert(w)?;
        out.insert(key(&v).to_string(), Some(v));
    }
    Ok(out)
}

impl From<&ViewDiff> for pd::NetworkViewDelta {
    fn from(d: &ViewDiff) -> Self {
        let (peers, peers_removed) = split(&d.peers);
        let (services, services_removed) = split(&d.services);
        let (endpoints, endpoints_removed) = split(&d.endpoints);
        let (overlays, overlays_removed) = split(&d.overlays);
        let backends = d
            .backends
            .iter()
            .map(|(service_id, changes)| {
                let (backends, removed) = split(changes);
                pd::BackendChanges {
                    service_id: service_id.clone(),
                    backends,
                    removed,
                }
            })
            .collect();
        pd::NetworkViewDelta {
            base_version: 0,
            ingress_changed: d.ingress.is_some(),
            ingress: d.ingress.clone().flatten().map(Into::into),
            peers,
            peers_removed,
            services,
            services_removed,
            backends,
            endpoints,
            endpoints_removed,
            overlays,
            overlays_removed,
        }
    }
}

impl TryFrom<pd::NetworkViewDelta> for ViewDiff {
    type Error = ConvertError;
    fn try_from(d: pd::NetworkViewDelta) -> Result<Self, ConvertError> {
        let mut backends = std::collections::BTreeMap::new();
        for b in d.backends {
            let changes = join(
                b.backends,
                b.removed,
                |w| Ok(w.into()),
                |b: &MeshBackend| &b.task_id,
            )?;
            backends.insert(b.service_id, changes);
        }
        Ok(ViewDiff {
            ingress: d.ingress_changed.then(|| d.ingress.map(Into::into)),
            peers: join(
                d.peers,
                d.peers_removed,
                |w| Ok(w.into()),
                |p: &NodePeer| &p.node_id,
            )?,
            services: join(
                d.services,
                d.services_removed,
                TryInto::try_into,
                |s: &MeshService| &s.service_id,
            )?,
            backends,
            endpoints: join(
                d.endpoints,
                d.endpoints_removed,
                |w| Ok(w.into()),
                |e: &TaskEndpoint| &e.task_id,
            )?,
            overlays: join(
                d.overlays,
                d.overlays_removed,
                TryInto::try_into,
                |o: &OverlayView| &o.network.id,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netview::NetworkView;

    #[test]
    fn a_diff_survives_the_wire() {
        let peer = |id: &str| NodePeer {
            node_id: id.into(),
            underlay_addr: "192.168.0.1".into(),
            ingress_addr: "10.255.0.2".into(),
        };
        let backend = |id: &str| MeshBackend {
            task_id: id.into(),
            node_id: "n1".into(),
            addr: "10.255.1.1".into(),
        };
        let old = NetworkView {
            ingress: None,
            peers: vec![peer("n1"), peer("n2")],
            services: vec![MeshService {
                service_id: "s1".into(),
                service_name: "web".into(),
                ports: vec![],
                backends: vec![backend("t1")],
            }],
            endpoints: vec![TaskEndpoint {
                task_id: "t1".into(),
                node_id: "n1".into(),
                addr: "10.255.1.1".into(),
                mac: "02:42:0a:ff:01:01".into(),
            }],
            overlays: vec![super::super::overlay_view::tests::sample()],
        };
        let mut new = old.clone();
        new.peers.remove(0);
        new.services[0].backends.push(backend("t2"));
        new.services.push(MeshService {
            service_id: "s2".into(),
            ..old.services[0].clone()
        });
        new.endpoints.clear();
        new.overlays[0].services.clear();
        let diff = old.diff(&new);
        let wire = pd::NetworkViewDelta::from(&diff);
        assert_eq!(ViewDiff::try_from(wire).unwrap(), diff);
        assert!(!diff.endpoints.is_empty() && !diff.backends.is_empty());
        assert_eq!(diff.overlays.len(), 1);
        let mut gone = new.clone();
        gone.overlays.clear();
        let diff = new.diff(&gone);
        let wire = pd::NetworkViewDelta::from(&diff);
        assert_eq!(ViewDiff::try_from(wire).unwrap(), diff);
        assert_eq!(diff.overlays["net1"], None);
    }
}
