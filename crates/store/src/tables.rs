//! The cluster state as plain maps: what a snapshot holds and what readers see.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use types::{Cluster, Network, Node, Service, Task};

use crate::action::{Event, Kind, Object, StoreAction};
use crate::error::StoreError;

/// Every table of the store, keyed by object ID.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tables {
    pub nodes: BTreeMap<String, Node>,
    pub services: BTreeMap<String, Service>,
    pub tasks: BTreeMap<String, Task>,
    pub networks: BTreeMap<String, Network>,
    pub clusters: BTreeMap<String, Cluster>,
}

impl Tables {
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
        }
    }

    fn version_of(&self, kind: Kind, id: &str) -> Option<u64> {
        match kind {
            Kind::Node => self.nodes.get(id).map(|o| o.meta.version),
            Kind::Service => self.services.get(id).map(|o| o.meta.version),
            Kind::Task => self.tasks.get(id).map(|o| o.meta.version),
            Kind::Network => self.networks.get(id).map(|o| o.meta.version),
            Kind::Cluster => self.clusters.get(id).map(|o| o.meta.version),
        }
    }

    fn put(&mut self, object: Object) {
        match object {
            Object::Node(o) => {
                self.nodes.insert(o.id.clone(), o);
            }
            Object::Service(o) => {
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
        }
    }

    fn delete(&mut self, kind: Kind, id: &str) -> Option<Object> {
        match kind {
            Kind::Node => self.nodes.remove(id).map(Object::Node),
            Kind::Service => self.services.remove(id).map(Object::Service),
            Kind::Task => self.tasks.remove(id).map(Object::Task),
            Kind::Network => self.networks.remove(id).map(Object::Network),
            Kind::Cluster => self.clusters.remove(id).map(Object::Cluster),
        }
    }

    /// A service's name (regardless of case) and ingress-published ports are its own in the
    /// whole cluster.
    fn check_claims(&self, s: &Service) -> Result<(), StoreError> {
        use types::PublishMode;
        for other in self.services.values().filter(|o| o.id != s.id) {
            if other.spec.name.eq_ignore_ascii_case(&s.spec.name) {
                return Err(StoreError::Taken(format!(
                    "service name `{}` is taken by service {}",
                    s.spec.name, other.id
                )));
            }
            for p in s
                .endpoint_ports
                .iter()
                .filter(|p| p.publish_mode == PublishMode::Ingress && p.published_port != 0)
            {
                let clash = other.endpoint_ports.iter().any(|q| {
                    q.publish_mode == PublishMode::Ingress
                        && q.protocol == p.protocol
                        && q.published_port == p.published_port
                });
                if clash {
                    return Err(StoreError::Taken(format!(
                        "published port {}/{} is taken by service {}",
                        p.published_port,
                        p.protocol.as_str(),
                        other.spec.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks every action against the current state without changing anything.
    pub fn check(&self, actions: &[StoreAction]) -> Result<(), StoreError> {
        for action in actions {
            if let StoreAction::Create(Object::Service(s))
            | StoreAction::Update(Object::Service(s)) = action
            {
                self.check_claims(s)?;
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
