//! The cluster state as plain maps: what a snapshot holds and what readers see.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use types::{Cluster, DataObject, Network, Node, Service, Task};

use crate::action::{Event, Kind, Object, StoreAction};
use crate::claims::{Claims, Clash};
use crate::error::StoreError;

/// Every table of the store, keyed by object ID.
///
/// The maps are public for reading; the store changes them only through [`Tables::apply`],
/// which keeps the index of service names and ports in step. Tables whose services were added
/// or removed directly (tests, a decoded snapshot) are indexed again when next needed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tables {
    pub nodes: BTreeMap<String, Node>,
    pub services: BTreeMap<String, Service>,
    pub tasks: BTreeMap<String, Task>,
    pub networks: BTreeMap<String, Network>,
    pub clusters: BTreeMap<String, Cluster>,
    /// Secrets (data sealed) and configs.
    #[serde(default)]
    pub data: BTreeMap<String, DataObject>,
    /// Who holds which name and ingress port: derived from `services`, never stored.
    #[serde(skip)]
    claims: Claims,
}

/// Equal when the objects are: the index is derived from them.
impl PartialEq for Tables {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
            && self.services == other.services
            && self.tasks == other.tasks
            && self.networks == other.networks
            && self.clusters == other.clusters
            && self.data == other.data
    }
}

impl Tables {
    /// Who holds which service name and ingress port: the maintained index, or (for tables
    /// filled without [`Tables::apply`]) one built for the occasion. Take it once for many
    /// lookups.
    pub fn claims(&self) -> Cow<'_, Claims> {
        if self.claims.services() == self.services.len() {
            Cow::Borrowed(&self.claims)
        } else {
            Cow::Owned(Claims::of(self.services.values()))
        }
    }

    /// Rebuilds the index if the services were changed without [`Tables::apply`].
    pub(crate) fn reindex(&mut self) {
        if let Cow::Owned(claims) = self.claims() {
            self.claims = claims;
        }
    }

    /// The service called `name`, compared regardless of case as service names are unique
    /// (`web` and `WEB` would be indistinguishable in DNS).
    pub fn service_named(&self, name: &str) -> Option<&Service> {
        let id = self.claims().named(name).next().map(str::to_owned)?;
        self.services.get(&id)
    }

    /// The one cluster object (absent only before the cluster is created).
    pub fn cluster(&self) -> Option<&Cluster> {
        self.clusters.values().next()
    }

    /// The ingress network, once created.
    pub fn ingress(&self) -> Option<&types::Network> {
        self.networks.values().find(|n| n.spec.ingress)
    }

    /// Tasks of one service.
    pub fn tasks_of_service<'a>(&'a self, service_id: &'a str) -> impl Iterator<Item = &'a Task> {
        self.tasks
            .values()
            .filter(move |t| t.service_id == service_id)
    }

    /// Tasks placed on one node.
    pub fn tasks_on_node<'a>(&'a self, node_id: &'a str) -> impl Iterator<Item = &'a Task> {
        self.tasks.values().filter(move |t| t.node_id == node_id)
    }

    pub fn get(&self, kind: Kind, id: &str) -> Option<Object> {
        match kind {
            Kind::Node => self.nodes.get(id).cloned().map(Object::Node),
            Kind::Service => self.services.get(id).cloned().map(Object::Service),
            Kind::Task => self.tasks.get(id).cloned().map(Object::Task),
            Kind::Network => self.networks.get(id).cloned().map(Object::Network),
            Kind::Cluster => self.clusters.get(id).cloned().map(Object::Cluster),
            Kind::Data => self.data.get(id).cloned().map(Object::Data),
        }
    }

    fn version_of(&self, kind: Kind, id: &str) -> Option<u64> {
        match kind {
            Kind::Node => self.nodes.get(id).map(|o| o.meta.version),
            Kind::Service => self.services.get(id).map(|o| o.meta.version),
            Kind::Task => self.tasks.get(id).map(|o| o.meta.version),
            Kind::Network => self.networks.get(id).map(|o| o.meta.version),
            Kind::Cluster => self.clusters.get(id).map(|o| o.meta.version),
            Kind::Data => self.data.get(id).map(|o| o.meta.version),
        }
    }

    fn put(&mut self, object: Object) {
        match object {
            Object::Node(o) => {
                self.nodes.insert(o.id.clone(), o);
            }
            Object::Service(o) => {
                if let Some(old) = self.services.get(&o.id) {
                    self.claims.remove(old);
                }
                self.claims.add(&o);
                self.services.insert(o.id.clone(), o);
            }
            Object::Task(o) => {
                self.tasks.insert(o.id.clone(), o);
            }
            Object::Network(o) => {
                self.networks.insert(o.id.clone(), o);
            }
            Object::Cluster(o) => {
                self.clusters.insert(o.id.clone(), o);
            }
            Object::Data(o) => {
                self.data.insert(o.id.clone(), o);
            }
        }
    }

    fn delete(&mut self, kind: Kind, id: &str) -> Option<Object> {
        match kind {
            Kind::Node => self.nodes.remove(id).map(Object::Node),
            Kind::Service => self.services.remove(id).map(|o| {
                self.claims.remove(&o);
                Object::Service(o)
            }),
            Kind::Task => self.tasks.remove(id).map(Object::Task),
            Kind::Network => self.networks.remove(id).map(Object::Network),
            Kind::Cluster => self.clusters.remove(id).map(Object::Cluster),
            Kind::Data => self.data.remove(id).map(Object::Data),
        }
    }

    /// A service's name (regardless of case) and ingress-published ports are its own in the
    /// whole cluster.
    fn check_claims(&self, claims: &Claims, s: &Service) -> Result<(), StoreError> {
        let Some((clash, holder)) = claims.clash(s) else {
            return Ok(());
        };
        Err(StoreError::Taken(match clash {
            Clash::Name => format!(
                "service name `{}` is taken by service {holder}",
                s.spec.name
            ),
            Clash::Port(p) => format!(
                "published port {}/{} is taken by service {}",
                p.published_port,
                p.protocol.as_str(),
                self.services
                    .get(holder)
                    .map_or(holder, |o| o.spec.name.as_str())
            ),
        }))
    }

    /// Checks every action against the current state without changing anything.
    pub fn check(&self, actions: &[StoreAction]) -> Result<(), StoreError> {
        let claims = self.claims();
        for action in actions {
            if let StoreAction::Create(Object::Service(s))
            | StoreAction::Update(Object::Service(s)) = action
            {
                self.check_claims(&claims, s)?;
            }
        }
        // Later actions in one write may touch objects created or changed by earlier ones, so
        // versions are tracked as the write would leave them.
        let mut seen: BTreeMap<(Kind, &str), Option<u64>> = BTreeMap::new();
        for action in actions {
            match action {
                StoreAction::Create(o) => {
                    let key = (o.kind(), o.id());
                    let current = match seen.get(&key) {
                        Some(v) => *v,
                        None => self.version_of(o.kind(), o.id()),
                    };
                    if current.is_some() {
                        return Err(StoreError::AlreadyExists {
                            kind: o.kind().as_str().into(),
                            id: o.id().into(),
                        });
                    }
                    seen.insert(key, Some(u64::MAX));
                }
                StoreAction::Update(o) => {
                    let key = (o.kind(), o.id());
                    let current = match seen.get(&key) {
                        Some(v) => *v,
                        None => self.version_of(o.kind(), o.id()),
                    };
                    match current {
                        None => {
                            return Err(StoreError::NotFound {
                                kind: o.kind().as_str().into(),
                                id: o.id().into(),
                            })
                        }
                        // Written earlier in this same write: the writer owns it.
                        Some(u64::MAX) => {}
                        Some(v) if v != o.meta().version => {
                            return Err(StoreError::Conflict {
                                kind: o.kind().as_str().into(),
                                id: o.id().into(),
                                expected: o.meta().version,
                                actual: v,
                            })
                        }
                        Some(_) => {}
                    }
                    seen.insert(key, Some(u64::MAX));
                }
                StoreAction::Remove { kind, id } => {
                    let key = (*kind, id.as_str());
                    let current = match seen.get(&key) {
                        Some(v) => *v,
                        None => self.version_of(*kind, id),
                    };
                    if current.is_none() {
                        return Err(StoreError::NotFound {
                            kind: kind.as_str().into(),
                            id: id.clone(),
                        });
                    }
                    seen.insert(key, None);
                }
            }
        }
        Ok(())
    }

    /// Applies a write committed at log `index`: all actions or none. Every object it writes
    /// gets `meta.version = index`, so versions are the same on every replica.
    pub fn apply(&mut self, index: u64, actions: &[StoreAction]) -> Result<Vec<Event>, StoreError> {
        self.reindex();
        self.check(actions)?;
        let mut events = Vec::with_capacity(actions.len());
        for action in actions {
            match action {
                StoreAction::Create(o) => {
                    let mut o = o.clone();
                    o.meta_mut().version = index;
                    self.put(o.clone());
                    events.push(Event::Created(o));
                }
                StoreAction::Update(o) => {
                    let mut o = o.clone();
                    o.meta_mut().version = index;
                    self.put(o.clone());
                    events.push(Event::Updated(o));
                }
                StoreAction::Remove { kind, id } => {
                    if let Some(old) = self.delete(*kind, id) {
                        events.push(Event::Removed(old));
                    }
                }
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(id: &str, name: &str) -> Service {
        let mut s = Service {
            id: id.into(),
            ..Default::default()
        };
        s.spec.name = name.into();
        s
    }

    #[test]
    fn tables_filled_directly_are_still_checked() {
        let mut t = Tables::default();
        t.services.insert("s1".into(), service("s1", "web"));
        assert_eq!(t.service_named("Web").map(|s| s.id.as_str()), Some("s1"));
        let create = [StoreAction::Create(Object::Service(service("s2", "WEB")))];
        assert!(matches!(t.check(&create), Err(StoreError::Taken(_))));
        assert!(matches!(t.apply(7, &create), Err(StoreError::Taken(_))));
        // Decoded from a snapshot: no index travels with it.
        let decoded: Tables = serde_json::from_slice(&serde_json::to_vec(&t).unwrap()).unwrap();
        assert_eq!(decoded, t);
        assert!(matches!(decoded.check(&create), Err(StoreError::Taken(_))));
    }
}
