//! A cluster event on its way to `swarmctl events`. Only domain → wire: the CLI prints the
//! wire message as it is.

use api::control as pc;

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
