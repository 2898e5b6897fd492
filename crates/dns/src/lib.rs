//! The embedded DNS resolver of a node: containers ask it for service, alias and task names
//! of the networks they are attached to, and everything else goes to the host's resolvers.
//!
//! - [`zone`]: what the resolver knows, as plain data the caller builds from the node's
//!   network view (this crate depends on no other of the workspace).
//! - [`answer`]: who gets which answer, Docker's rules as one pure function.
//! - [`message`]: query bytes to reply bytes (ids, flags, TTL, errors, truncation), pure.
//! - [`resolv_conf`]: the upstreams, from the host's resolv.conf text.
//! - `upstream`, `frame`: forwarding to the upstreams, DNS over TCP framing.
//! - [`server`]: the thin UDP/TCP shell around [`message::respond`].
//! - [`probe`]: one A query's bytes and a reply's addresses, for benchmarks and tests.
//!
//! Messages are parsed and built with hickory-proto, the wire format library of the Hickory
//! DNS server and resolver: it handles name compression, EDNS and malformed input, which a
//! resolver facing every container must get right and which we would not want to hand-write.
//! Only its `std` feature is used: no runtime, no DNSSEC, no crypto.

pub mod answer;
mod frame;
pub mod message;
pub mod probe;
pub mod resolv_conf;
pub mod server;
mod upstream;
pub mod zone;

pub use answer::{resolve, Resolution};
pub use message::{respond, Reply, Transport, TTL};
pub use resolv_conf::upstreams_from_resolv_conf;
pub use server::{Resolver, ServerError, FORWARD_BUDGET};
pub use zone::{ServiceRecord, TaskRecord, Zone};
