//! Who gets which answer: the rules of Docker's embedded DNS as one pure function over a
//! [`Zone`], so every rule is a table row in the tests and the server only moves bytes.
//!
//! Choices where Docker leaves room:
//! - A name present on several of the client's networks is answered from the first network
//!   in the client's list (the zone's order for that client), never merged: merging would
//!   hand out addresses the client may not route to the same service.
//! - A name that is ours but has no address right now (a dnsrr service or `tasks.X` with no
//!   running task) is [`Resolution::NoData`], like a name asked for another type. Docker
//!   forwards it upstream and gets NXDOMAIN, which stub resolvers cache negatively and which
//!   leaks cluster names to the host's resolvers; NOERROR with no records and no SOA is not
//!   cached (RFC 2308), so the first task that starts is seen on the next query.
//! - `tasks.ALIAS` works like `tasks.SERVICE`, as in Docker.
//! - PTR is answered for VIPs (the service name) and task addresses (the task name) on the
//!   client's networks: the name that resolves back to the same address.
//! - A name that is not ours and ends in an all-digit label is [`Resolution::NoSuchName`],
//!   answered at once: no top-level domain is all digits (RFC 3696), so no upstream could
//!   know it. Stub resolvers make such names from a dotted hostname: in `web.1` they take
//!   `1` as the domain and ask `api.1` before `api`; an NXDOMAIN sends them on to `api`,
//!   where a forward would cost a round trip (or, without upstreams, end the search with a
//!   SERVFAIL).

use std::net::Ipv4Addr;

use hickory_proto::rr::{Name, RecordType};
use hickory_proto::ProtoError;
use ipnet::IpNet;

use crate::zone::{ServiceRecord, Zone};

/// What the resolver does with one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A records for these addresses (never empty: no address is [`Resolution::NoData`]).
    Answer(Vec<Ipv4Addr>),
    /// A PTR record to this name (without trailing dot).
    Pointer(String),
    /// The name is ours but has nothing of that type: NOERROR with no records. Never
    /// forwarded, so the host's resolvers cannot answer a cluster name with something else.
    NoData,
    /// A name no resolver can know: NXDOMAIN, not forwarded.
    NoSuchName,
    /// Not a name of the client's networks: forward upstream.
    NotOurs,
}

/// The answer for `client` asking `qname` (case-insensitive, trailing dot optional) of type
/// `qtype`.
pub fn resolve(zone: &Zone, client: Ipv4Addr, qname: &str, qtype: RecordType) -> Resolution {
    let Some(networks) = zone.networks_of(client) else {
        return Resolution::NotOurs;
    };
    let name = qname.strip_suffix('.').unwrap_or(qname);
    if qtype == RecordType::PTR {
        if let Some(addr) = reverse_address(name) {
            return networks
                .iter()
                .find_map(|network| pointer(zone.services_on(network), addr))
                .map_or(Resolution::NotOurs, Resolution::Pointer);
        }
    }
    let Some(addrs) = networks
        .iter()
        .find_map(|network| addresses(zone.services_on(network), name))
    else {
        let numeric_tld = name
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.is_empty() && tld.bytes().all(|b| b.is_ascii_digit()));
        return match numeric_tld && name.contains('.') {
            true => Resolution::NoSuchName,
            false => Resolution::NotOurs,
        };
    };
    if qtype == RecordType::A && !addrs.is_empty() {
        Resolution::Answer(addrs)
    } else {
        Resolution::NoData
    }
}

/// The addresses `name` stands for on one network, `None` when the name is not there.
fn addresses(services: &[ServiceRecord], name: &str) -> Option<Vec<Ipv4Addr>> {
    let tasks_of = name
        .get(..TASKS_PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(TASKS_PREFIX))
        .map(|_| &name[TASKS_PREFIX.len()..]);
    for service in services {
        if names(service, name) {
            return Some(match service.vip {
                Some(vip) => vec![vip],
                None => task_addresses(service),
            });
        }
        if tasks_of.is_some_and(|of| names(service, of)) {
            return Some(task_addresses(service));
        }
        if let Some(task) = service
            .tasks
            .iter()
            .find(|task| task.name.eq_ignore_ascii_case(name))
        {
            return Some(vec![task.addr]);
        }
    }
    None
}

const TASKS_PREFIX: &str = "tasks.";

/// Whether `name` is the service's name or one of its aliases.
fn names(service: &ServiceRecord, name: &str) -> bool {
    service.name.eq_ignore_ascii_case(name)
        || service
            .aliases
            .iter()
            .any(|alias| alias.eq_ignore_ascii_case(name))
}

fn task_addresses(service: &ServiceRecord) -> Vec<Ipv4Addr> {
    service.tasks.iter().map(|task| task.addr).collect()
}

/// The name that resolves to `addr` on one network.
fn pointer(services: &[ServiceRecord], addr: Ipv4Addr) -> Option<String> {
    services.iter().find_map(|service| {
        if service.vip == Some(addr) {
            return Some(service.name.clone());
        }
        service
            .tasks
            .iter()
            .find(|task| task.addr == addr)
            .map(|task| task.name.clone())
    })
}

/// The address of a full `D.C.B.A.in-addr.arpa` name; `None` for any other name, including
/// a partial reverse name (a whole subnet is no address of ours).
fn reverse_address(name: &str) -> Option<Ipv4Addr> {
    let parsed: Result<_, ProtoError> =
        Name::from_ascii(format!("{name}.")).and_then(|name| name.parse_arpa_name());
    match parsed.ok()? {
        IpNet::V4(net) if net.prefix_len() == 32 => Some(net.addr()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
