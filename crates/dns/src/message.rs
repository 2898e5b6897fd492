//! From query bytes to reply bytes: parses with hickory-proto, asks [`resolve`], builds the
//! reply. Pure, so malformed input, truncation and every reply code are tested without a
//! socket, and the server only moves bytes.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Header, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::answer::{resolve, Resolution};
use crate::zone::Zone;

/// TTL of our records. Docker uses 600 s for VIPs; a task that stops or a service that is
/// removed must vanish from clients at once, and 1 s still lets a burst of lookups from one
/// client share an answer. 0 would do too, but some stub caches treat 0 as "use a default".
pub const TTL: u32 = 1;

/// The largest UDP reply we send, whatever EDNS size the client offers: the size that
/// avoids IP fragmentation on common paths (DNS flag day 2020).
pub const MAX_UDP_PAYLOAD: u16 = 1232;

/// The smallest reply size a client must accept over UDP (RFC 1035).
const MIN_UDP_PAYLOAD: u16 = 512;

/// How the query came in: over UDP a reply too large for the client is truncated (TC set),
/// so the client asks again over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// What the server does with one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Send these bytes back.
    Answer(Vec<u8>),
    /// Not ours: relay the query upstream, and send `servfail` back if no upstream answers.
    Forward { servfail: Vec<u8> },
    /// Send nothing: unreadable, or a response sent to us (answering one could loop).
    Drop,
}

/// The reply to `query` from `client` (the source address of the packet or connection).
pub fn respond(zone: &Zone, client: IpAddr, query: &[u8], transport: Transport) -> Reply {
    let request = match Message::from_vec(query) {
        Ok(request) => request,
        Err(_) => return unreadable(query),
    };
    if request.metadata.message_type != MessageType::Query {
        return Reply::Drop;
    }
    if request.metadata.op_code != OpCode::Query {
        return encode(&reply_to(&request, ResponseCode::NotImp), transport);
    }
    let [question] = request.queries.as_slice() else {
        return encode(&reply_to(&request, ResponseCode::FormErr), transport);
    };
    let resolution = match client.to_canonical() {
        IpAddr::V4(client) if question.query_class() == DNSClass::IN => resolve(
            zone,
            client,
            &question.name().to_ascii(),
            question.query_type(),
        ),
        _ => Resolution::NotOurs,
    };
    let rdata: Vec<RData> = match resolution {
        Resolution::NotOurs => {
            return match reply_to(&request, ResponseCode::ServFail).to_vec() {
                Ok(servfail) => Reply::Forward { servfail },
                Err(_) => Reply::Drop,
            }
        }
        Resolution::NoSuchName => {
            let mut reply = reply_to(&request, ResponseCode::NXDomain);
            reply.metadata.authoritative = true;
            return encode(&reply, transport);
        }
        Resolution::NoData => Vec::new(),
        Resolution::Answer(addrs) => addrs.into_iter().map(|addr| RData::A(A(addr))).collect(),
        // A task name that is no valid DNS name has no PTR record to give.
        Resolution::Pointer(name) => Name::from_ascii(format!("{name}."))
            .map(|name| RData::PTR(PTR(name)))
            .into_iter()
            .collect(),
    };
    let mut reply = reply_to(&request, ResponseCode::NoError);
    reply.metadata.authoritative = true;
    reply.add_answers(
        rdata
            .into_iter()
            .map(|data| Record::from_rdata(question.name().clone(), TTL, data)),
    );
    encode(&reply, transport)
}

/// FORMERR when at least the header (and so the id) can be read; nothing otherwise, as the
/// client could not match a reply anyway.
fn unreadable(query: &[u8]) -> Reply {
    match Header::read(&mut BinDecoder::new(query)) {
        Ok(header) if header.metadata.message_type == MessageType::Query => {
            let reply = Message::error_msg(header.id, header.op_code, ResponseCode::FormErr);
            reply.to_vec().map_or(Reply::Drop, Reply::Answer)
        }
        _ => Reply::Drop,
    }
}

/// An empty reply with `code` to `request`: its id, RD and CD, its question, RA set (we do
/// recurse, through the upstreams), and an OPT record when the client sent one.
fn reply_to(request: &Message, code: ResponseCode) -> Message {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata = Metadata::response_from_request(&request.metadata);
    reply.metadata.recursion_available = true;
    reply.metadata.response_code = code;
    reply.add_queries(request.queries.iter().cloned());
    if let Some(edns) = &request.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(MAX_UDP_PAYLOAD.min(edns.max_payload()));
        reply.set_edns(ours);
    }
    reply
}

/// The bytes of `reply`, truncated to the client's limit over UDP.
fn encode(reply: &Message, transport: Transport) -> Reply {
    let Ok(bytes) = reply.to_vec() else {
        return Reply::Drop;
    };
    let limit = match (&reply.edns, transport) {
        (_, Transport::Tcp) => usize::MAX,
        (None, Transport::Udp) => usize::from(MIN_UDP_PAYLOAD),
        (Some(edns), Transport::Udp) => usize::from(edns.max_payload().max(MIN_UDP_PAYLOAD)),
    };
    if bytes.len() <= limit {
        return Reply::Answer(bytes);
    }
    reply.truncate().to_vec().map_or(Reply::Drop, Reply::Answer)
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
