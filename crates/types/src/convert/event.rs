//! A cluster event on its way to `swarmctl events` and the Engine API's `/events`: domain →
//! wire, and the wire event as docker's JSON message, which both print.

use std::collections::BTreeMap;

use api::control as pc;
use serde::Serialize;

use crate::event::ClusterEvent;

impl From<ClusterEvent> for pc::Event {
    fn from(e: ClusterEvent) -> Self {
        pc::Event {
            time_nano: e.time_ns,
            r#type: e.kind.as_str().to_string(),
            action: e.action.as_str().to_string(),
            id: e.id,
            attributes: e.attributes.into_iter().collect(),
        }
    }
}

/// docker's `events.Message` of a swarm event, in its field order.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Action")]
    action: &'a str,
    #[serde(rename = "Actor")]
    actor: Actor<'a>,
    scope: &'static str,
    time: i64,
    #[serde(rename = "timeNano")]
    time_nano: i64,
}

#[derive(Serialize)]
struct Actor<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "Attributes")]
    attributes: BTreeMap<&'a str, &'a str>,
}

/// One swarm event as docker's JSON message (one line of `docker events --format json`).
pub fn docker_message(e: &pc::Event) -> String {
    let message = Message {
        kind: &e.r#type,
        action: &e.action,
        actor: Actor {
            id: &e.id,
            attributes: e
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        },
        scope: "swarm",
        time: e.time_nano.div_euclid(1_000_000_000),
        time_nano: e.time_nano,
    };
    serde_json::to_string(&message).expect("an event serializes")
}
