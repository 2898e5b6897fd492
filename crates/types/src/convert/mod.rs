//! The one place where domain types meet the generated protobuf types (the gRPC edge).
//!
//! Domain → wire is infallible (`From`). Wire → domain is `TryFrom`: an enum number this build
//! does not know is refused with the field's name, while an absent sub-message takes the
//! domain default (proto3 cannot tell "absent" from "empty", and docker's defaults are what a
//! user who said nothing means). Durations travel as milliseconds on both sides.
//!
//! - [`node`]: Node and everything inside it
//! - [`service`]: Service, ServiceSpec, TaskSpec and their parts
//! - [`task`]: Task, TaskStatus, attachments
//! - [`network`]: Network, Cluster, and the dispatcher's NetworkView
//! - [`view_diff`]: a change of the NetworkView, sent instead of the whole view
//! - [`secret`]: secrets and configs (a secret's data cleared on the way out), payloads
//! - [`mesh`]: a node's mesh table, read back from its kernel (domain → wire only)
//! - [`event`]: a cluster event on its way to `swarmctl events` (domain → wire only)

pub mod event;
mod mesh;
mod network;
mod node;
mod overlay_view;
pub mod secret;
mod service;
mod task;
mod view_diff;

use std::collections::{BTreeMap, HashMap};

/// A wire message that cannot become a domain object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{field}: unknown value {value}; this manager does not know it (version skew?)")]
    UnknownEnum { field: &'static str, value: i32 },
    #[error("{0} is missing; the sender is broken or of another version")]
    Missing(&'static str),
}

/// Decodes a wire enum number into the domain enum through the generated enum `A`.
fn enum_in<A, D>(field: &'static str, value: i32) -> Result<D, ConvertError>
where
    A: TryFrom<i32>,
    D: From<A>,
{
    A::try_from(value)
        .map(D::from)
        .map_err(|_| ConvertError::UnknownEnum { field, value })
}

/// Maps a domain enum and a generated enum onto each other, both ways, variant by variant.
macro_rules! enum_pair {
    ($dom:ty, $api:ty, { $($d:ident <=> $a:ident),+ $(,)? }) => {
        impl From<$dom> for $api {
            fn from(v: $dom) -> Self {
                match v { $(<$dom>::$d => <$api>::$a),+ }
            }
        }
        impl From<$api> for $dom {
            fn from(v: $api) -> Self {
                match v { $(<$api>::$a => <$dom>::$d),+ }
            }
        }
    };
}
pub(crate) use enum_pair;

/// The wire number of a domain enum.
fn enum_out<D, A>(v: D) -> i32
where
    A: From<D> + Into<i32>,
{
    A::from(v).into()
}

fn map_in(m: HashMap<String, String>) -> BTreeMap<String, String> {
    m.into_iter().collect()
}

fn map_out(m: BTreeMap<String, String>) -> HashMap<String, String> {
    m.into_iter().collect()
}

impl From<crate::Meta> for api::objects::Meta {
    fn from(m: crate::Meta) -> Self {
        api::objects::Meta {
            version: m.version,
            created_at_ms: m.created_at_ms,
            updated_at_ms: m.updated_at_ms,
        }
    }
}

impl From<api::objects::Meta> for crate::Meta {
    fn from(m: api::objects::Meta) -> Self {
        crate::Meta {
            version: m.version,
            created_at_ms: m.created_at_ms,
            updated_at_ms: m.updated_at_ms,
        }
    }
}
