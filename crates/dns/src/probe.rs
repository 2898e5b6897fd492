//! Asking a resolver, as the benchmarks and the other crates' tests do: the bytes of one A
//! query, and the addresses of a reply. One place that builds them, with hickory-proto as the
//! resolver itself does.

use std::net::Ipv4Addr;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::ProtoError;

/// An A query for `name` with `id`, recursion desired.
pub fn a_query(id: u16, name: &str) -> Result<Vec<u8>, ProtoError> {
    let mut q = Message::query();
    q.metadata.id = id;
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(Name::from_ascii(name)?, RecordType::A));
    q.to_vec()
}

/// The id of a reply and the addresses of its A records.
pub fn a_records(reply: &[u8]) -> Result<(u16, Vec<Ipv4Addr>), ProtoError> {
    let m = Message::from_vec(reply)?;
    let addrs = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    Ok((m.metadata.id, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{respond, Reply, ServiceRecord, Transport, Zone};

    #[test]
    fn a_query_answered_by_the_resolver_reads_back() {
        let zone = Zone::new()
            .with_service("net", ServiceRecord::vip("web", Ipv4Addr::new(10, 0, 0, 2)))
            .with_client(Ipv4Addr::LOCALHOST, ["net"]);
        let query = a_query(9, "web").unwrap();
        let Reply::Answer(reply) =
            respond(&zone, Ipv4Addr::LOCALHOST.into(), &query, Transport::Udp)
        else {
            panic!("not answered");
        };
        assert_eq!(
            a_records(&reply).unwrap(),
            (9, vec![Ipv4Addr::new(10, 0, 0, 2)])
        );
    }
}
