//! Generated protobuf and gRPC code; nothing hand-written lives here.
//!
//! - [`objects`]: the cluster's objects on the wire (converted to `types` at the edge)
//! - [`control`]: the swarmctl ⇄ manager API
//! - [`dispatcher`]: agent ⇄ leader sessions, node admission, per-node agent API
//! - [`raft`]: manager ⇄ manager consensus transport

#![allow(clippy::all, clippy::pedantic)]

pub mod objects {
    tonic::include_proto!("swarm.objects");
}
pub mod control {
    tonic::include_proto!("swarm.control");
}
pub mod dispatcher {
    tonic::include_proto!("swarm.dispatcher");
}
pub mod raft {
    tonic::include_proto!("swarm.raft");
}
