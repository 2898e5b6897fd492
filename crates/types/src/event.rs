//! Cluster events as `docker events` shows swarm events, and the filters that pick them.
//!
//! The filter parser lives here, not in the manager, so that `swarmctl` refuses a bad filter
//! before it connects, with the same words the manager uses.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What kind of object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    Service,
    Node,
    Task,
    Network,
    Secret,
    Config,
}

/// What happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventAction {
    Create,
    Update,
    Remove,
}

/// Maps a closed set of names onto an enum both ways, with the list of accepted names.
macro_rules! named {
    ($ty:ty, { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$v => $s),+ }
            }

            /// The accepted names, for error messages: `service, node, ...`.
            pub fn accepted() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl FromStr for $ty {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or(())
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(EventType, {
    Service => "service", Node => "node", Task => "task",
    Network => "network", Secret => "secret", Config => "config",
});
named!(EventAction, { Create => "create", Update => "update", Remove => "remove" });

/// One change of one object, as `docker events` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEvent {
    /// Unix nanoseconds.
    pub time_ns: i64,
    pub kind: EventType,
    pub action: EventAction,
    /// The object's ID (docker's `Actor.ID`).
    pub id: String,
    /// docker's `Actor.Attributes`: `name` always, then what the type adds (`state.old`, ...).
    pub attributes: BTreeMap<String, String>,
}

impl ClusterEvent {
    /// The `name` attribute (a task's is `web.1`).
    pub fn name(&self) -> &str {
        self.attributes
            .get("name")
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn time_ms(&self) -> i64 {
        self.time_ns.div_euclid(1_000_000)
    }
}

/// The filter keys, in the order error messages list them.
pub const FILTER_KEYS: &[&str] = &["type", "name", "id", "event"];

/// A filter that cannot be used, with what would be accepted instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventFilterError {
    #[error("filter `{0}` is not KEY=VALUE; use e.g. `type=service` or `name=web`")]
    NotKeyValue(String),
    #[error("unknown filter key `{key}`; accepted keys: {}", FILTER_KEYS.join(", "))]
    UnknownKey { key: String },
    #[error("filter `{key}={value}`: unknown {what} `{value}`; accepted: {accepted}")]
    UnknownValue {
        key: &'static str,
        what: &'static str,
        value: String,
        accepted: String,
    },
    #[error("filter `{key}=` has no value; give one, e.g. `{key}={example}`")]
    Empty {
        key: &'static str,
        example: &'static str,
    },
}

/// Which events to pass. Values of one key are alternatives; different keys must all match
/// (docker's rule). An empty filter passes everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub types: Vec<EventType>,
    /// Exact `name` attributes.
    pub names: Vec<String>,
    /// Object IDs or prefixes of them.
    pub ids: Vec<String>,
    pub actions: Vec<EventAction>,
}

impl EventFilter {
    /// Parses `KEY=VALUE` strings as given on the command line.
    pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<EventFilter, EventFilterError> {
        let pairs = args
            .iter()
            .map(|a| {
                let a = a.as_ref();
                a.split_once('=')
                    .ok_or_else(|| EventFilterError::NotKeyValue(a.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        EventFilter::parse(pairs)
    }

    /// Parses key/value pairs, refusing unknown keys and values.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<EventFilter, EventFilterError> {
        let mut filter = EventFilter::default();
        for (key, value) in pairs {
            let (key, value) = (key.trim(), value.trim());
            let empty = |key, example| Err(EventFilterError::Empty { key, example });
            let unknown = |key, what, accepted| EventFilterError::UnknownValue {
                key,
                what,
                value: value.to_string(),
                accepted,
            };
            match key {
                "type" => filter.types.push(
                    value
                        .parse()
                        .map_err(|()| unknown("type", "type", EventType::accepted()))?,
                ),
                "event" => filter.actions.push(
                    value
                        .parse()
                        .map_err(|()| unknown("event", "event", EventAction::accepted()))?,
                ),
                "name" if value.is_empty() => return empty("name", "web"),
                "name" => filter.names.push(value.to_string()),
                "id" if value.is_empty() => return empty("id", "3mn8wo"),
                "id" => filter.ids.push(value.to_string()),
                _ => {
                    return Err(EventFilterError::UnknownKey {
                        key: key.to_string(),
                    })
                }
            }
        }
        Ok(filter)
    }

    pub fn matches(&self, event: &ClusterEvent) -> bool {
        fn any<T>(wanted: &[T], hit: impl Fn(&T) -> bool) -> bool {
            wanted.is_empty() || wanted.iter().any(hit)
        }
        any(&self.types, |t| *t == event.kind)
            && any(&self.actions, |a| *a == event.action)
            && any(&self.names, |n| n == event.name())
            && any(&self.ids, |i| event.id.starts_with(i.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventType, action: EventAction, id: &str, name: &str) -> ClusterEvent {
        ClusterEvent {
            time_ns: 1,
            kind,
            action,
            id: id.into(),
            attributes: [("name".to_string(), name.to_string())].into(),
        }
    }

    #[test]
    fn keys_and_values_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(*t));
        }
        assert_eq!("remove".parse::<EventAction>(), Ok(EventAction::Remove));
        assert_eq!(
            EventType::accepted(),
            "service, node, task, network, secret, config"
        );
    }

    #[test]
    fn same_key_is_any_different_keys_are_all() {
        let f = EventFilter::parse_args(&["type=service", "type=node", "event=create"]).unwrap();
        use EventAction::*;
        use EventType::*;
        assert!(f.matches(&event(Service, Create, "s1", "web")));
        assert!(f.matches(&event(Node, Create, "n1", "worker1")));
        assert!(!f.matches(&event(Task, Create, "t1", "web.1")));
        assert!(!f.matches(&event(Service, Remove, "s1", "web")));
        assert!(EventFilter::default().matches(&event(Secret, Update, "x", "pw")));
    }

    #[test]
    fn names_are_exact_and_ids_match_by_prefix() {
        let f = EventFilter::parse_args(&["name=web", "id=3mn8"]).unwrap();
        use EventAction::Create;
        use EventType::Service;
        assert!(f.matches(&event(Service, Create, "3mn8wo", "web")));
        assert!(!f.matches(&event(Service, Create, "3mn8wo", "webapp")));
        assert!(!f.matches(&event(Service, Create, "x3mn8", "web")));
    }

    #[test]
    fn bad_filters_name_the_key_and_what_is_accepted() {
        let e = EventFilter::parse_args(&["type=bogus"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "filter `type=bogus`: unknown type `bogus`; accepted: service, node, task, network, secret, config"
        );
        let e = EventFilter::parse_args(&["event=destroy"]).unwrap_err();
        assert!(
            e.to_string().contains("accepted: create, update, remove"),
            "{e}"
        );
        let e = EventFilter::parse_args(&["colour=red"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown filter key `colour`; accepted keys: type, name, id, event"
        );
        let e = EventFilter::parse_args(&["type"]).unwrap_err();
        assert!(matches!(e, EventFilterError::NotKeyValue(_)), "{e}");
        let e = EventFilter::parse_args(&["name="]).unwrap_err();
        assert!(e.to_string().contains("has no value"), "{e}");
    }
}
