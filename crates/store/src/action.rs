//! What a write is made of: store actions, applied all-or-nothing in log order.

use serde::{Deserialize, Serialize};
use types::{Cluster, DataObject, Network, Node, Service, Task};

/// The kinds of object the store holds (its tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Node,
    Service,
    Task,
    Network,
    Cluster,
    /// Secrets and configs.
    Data,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Node => "node",
            Kind::Service => "service",
            Kind::Task => "task",
            Kind::Network => "network",
            Kind::Cluster => "cluster",
            Kind::Data => "secret or config",
        }
    }
}

/// One stored object of any kind.
// Objects move one at a time through writes and watch events, never sit in large arrays:
// boxing every variant would add an allocation per object and buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Object {
    Node(Node),
    Service(Service),
    Task(Task),
    Network(Network),
    Cluster(Cluster),
    Data(DataObject),
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Node(_) => Kind::Node,
            Object::Service(_) => Kind::Service,
            Object::Task(_) => Kind::Task,
            Object::Network(_) => Kind::Network,
            Object::Cluster(_) => Kind::Cluster,
            Object::Data(_) => Kind::Data,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Object::Node(o) => &o.id,
            Object::Service(o) => &o.id,
            Object::Task(o) => &o.id,
            Object::Network(o) => &o.id,
            Object::Cluster(o) => &o.id,
            Object::Data(o) => &o.id,
        }
    }

    pub fn meta(&self) -> &types::Meta {
        match self {
            Object::Node(o) => &o.meta,
            Object::Service(o) => &o.meta,
            Object::Task(o) => &o.meta,
            Object::Network(o) => &o.meta,
            Object::Cluster(o) => &o.meta,
            Object::Data(o) => &o.meta,
        }
    }

    pub fn meta_mut(&mut self) -> &mut types::Meta {
        match self {
            Object::Node(o) => &mut o.meta,
            Object::Service(o) => &mut o.meta,
            Object::Task(o) => &mut o.meta,
            Object::Network(o) => &mut o.meta,
            Object::Cluster(o) => &mut o.meta,
            Object::Data(o) => &mut o.meta,
        }
    }
}

/// One change inside a write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoreAction {
    /// Fails if an object of that kind and ID exists.
    Create(Object),
    /// Fails unless the stored object's version equals `object.meta.version` (the version the
    /// writer read): a concurrent change makes the whole write fail with `Conflict`.
    Update(Object),
    /// Fails if the object does not exist.
    Remove { kind: Kind, id: String },
}

/// What watchers see after a write commits.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Created(Object),
    /// The new state of the object.
    Updated(Object),
    /// The last state of the removed object.
    Removed(Object),
}

impl Event {
    pub fn object(&self) -> &Object {
        match self {
            Event::Created(o) | Event::Updated(o) | Event::Removed(o) => o,
        }
    }
}
