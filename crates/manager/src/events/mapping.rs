//! Store changes → cluster events, with the attributes docker gives swarm events.
//!
//! A store update carries only the object's new state, so the mapper keeps, for every object,
//! the few attributes whose changes an update reports as `X.old`/`X.new` (a node's `state`, a
//! service's `image`, ...), and each node's hostname for tasks' `node` attribute. Secrets and
//! configs give their name only: neither their data nor their labels ever reach an event.

use std::collections::{BTreeMap, HashMap};

use store::{Event, Object, Tables};
use types::event::{ClusterEvent, EventAction, EventType};
use types::{DataKind, Node, Reachability, Service, Task, UpdateState};

/// Attributes compared between an object's states, by their name in `X.old`/`X.new`.
type Tracked = BTreeMap<&'static str, String>;

/// Turns the store's changes into events, remembering what it needs of earlier states.
#[derive(Debug, Default)]
pub struct EventMapper {
    /// The tracked attributes of every object, as of its last change.
    last: HashMap<(EventType, String), Tracked>,
    /// Hostnames by node ID: a task names the node it runs on.
    hostnames: HashMap<String, String>,
}

impl EventMapper {
    /// A mapper that knows the objects `tables` holds, so their next update reports changes.
    pub fn new(tables: &Tables) -> EventMapper {
        let mut mapper = EventMapper::default();
        let objects = (tables.nodes.values().cloned().map(Object::Node))
            .chain(tables.services.values().cloned().map(Object::Service))
            .chain(tables.tasks.values().cloned().map(Object::Task));
        for object in objects {
            mapper.remember(&object);
        }
        mapper
    }

    /// The event for one store change (none for the cluster object), stamped `now_ns`: when
    /// this manager applied it, as docker stamps an event when its daemon sees the change.
    pub fn map(&mut self, event: &Event, now_ns: i64) -> Option<ClusterEvent> {
        let object = event.object();
        let kind = event_type(object)?;
        let action = match event {
            Event::Created(_) => EventAction::Create,
            Event::Updated(_) => EventAction::Update,
            Event::Removed(_) => EventAction::Remove,
        };
        let mut attributes = self.attributes(object);
        let key = (kind, object.id().to_string());
        match action {
            EventAction::Remove => {
                self.last.remove(&key);
                if let Object::Node(n) = object {
                    self.hostnames.remove(&n.id);
                }
            }
            EventAction::Create | EventAction::Update => {
                let old = self.remember(object);
                if action == EventAction::Update {
                    changes(old.as_ref(), &tracked(object), &mut attributes);
                }
            }
        }
        Some(ClusterEvent {
            time_ns: now_ns,
            kind,
            action,
            id: object.id().to_string(),
            attributes,
        })
    }

    /// Stores what a later update is compared with; returns what was stored before.
    fn remember(&mut self, object: &Object) -> Option<Tracked> {
        if let Object::Node(n) = object {
            self.hostnames
                .insert(n.id.clone(), n.description.hostname.clone());
        }
        let kind = event_type(object)?;
        let now = tracked(object);
        if now.is_empty() {
            return None;
        }
        self.last.insert((kind, object.id().to_string()), now)
    }

    /// The attributes every event of the object carries.
    fn attributes(&self, object: &Object) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        let name = match object {
            Object::Node(n) => n.description.hostname.clone(),
            Object::Service(s) => s.spec.name.clone(),
            Object::Network(n) => n.spec.name.clone(),
            Object::Data(d) => d.spec.name.clone(),
            Object::Cluster(_) => String::new(),
            Object::Task(t) => {
                a.insert("service".into(), t.service_name.clone());
                if t.slot > 0 {
                    a.insert("slot".into(), t.slot.to_string());
                }
                if !t.node_id.is_empty() {
                    let node = self.hostnames.get(&t.node_id).filter(|h| !h.is_empty());
                    a.insert("node".into(), node.unwrap_or(&t.node_id).clone());
                }
                t.display_name()
            }
        };
        a.insert("name".into(), name);
        a
    }
}

fn event_type(object: &Object) -> Option<EventType> {
    Some(match object {
        Object::Node(_) => EventType::Node,
        Object::Service(_) => EventType::Service,
        Object::Task(_) => EventType::Task,
        Object::Network(_) => EventType::Network,
        Object::Data(d) if d.kind == DataKind::Secret => EventType::Secret,
        Object::Data(_) => EventType::Config,
        Object::Cluster(_) => return None,
    })
}

/// Adds `X.old`/`X.new` for every tracked attribute that changed.
fn changes(old: Option<&Tracked>, new: &Tracked, attributes: &mut BTreeMap<String, String>) {
    let Some(old) = old else { return };
    for (name, value) in new {
        let before = old.get(name).map(String::as_str).unwrap_or("");
        if before != value {
            attributes.insert(format!("{name}.old"), before.to_string());
            attributes.insert(format!("{name}.new"), value.clone());
        }
    }
}

/// What an update reports the change of, per object (docker's choice for nodes and services).
fn tracked(object: &Object) -> Tracked {
    match object {
        Object::Node(n) => node(n),
        Object::Service(s) => service(s),
        Object::Task(t) => task(t),
        _ => Tracked::new(),
    }
}

fn node(n: &Node) -> Tracked {
    let mut t = Tracked::from([
        ("availability", n.spec.availability.as_str().to_lowercase()),
        ("role", n.role.as_str().to_string()),
        ("state", n.status.state.as_str().to_lowercase()),
    ]);
    if let Some(m) = &n.manager_status {
        t.insert("leader", m.leader.to_string());
        let reachability = match m.reachability {
            Reachability::Unknown => "unknown",
            Reachability::Unreachable => "unreachable",
            Reachability::Reachable => "reachable",
        };
        t.insert("reachability", reachability.to_string());
    }
    t
}

fn service(s: &Service) -> Tracked {
    let mut t = Tracked::from([("image", s.spec.task.container.image.clone())]);
    if let Some(replicas) = s.spec.replicas() {
        t.insert("replicas", replicas.to_string());
    }
    if let Some(u) = &s.update_status {
        let state = match u.state {
            UpdateState::Unknown => "unknown",
            UpdateState::Updating => "updating",
            UpdateState::Paused => "paused",
            UpdateState::Completed => "completed",
            UpdateState::RollbackStarted => "rollback_started",
            UpdateState::RollbackPaused => "rollback_paused",
            UpdateState::RollbackCompleted => "rollback_completed",
        };
        t.insert("updatestate", state.to_string());
    }
    t
}

fn task(t: &Task) -> Tracked {
    Tracked::from([
        ("state", t.status.state.as_str().to_lowercase()),
        ("desiredstate", t.desired_state.as_str().to_lowercase()),
    ])
}
