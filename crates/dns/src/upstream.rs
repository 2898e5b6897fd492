//! Relaying a query that is not ours to the host's resolvers: each in turn, within one time
//! budget, so that a dead upstream costs its share and the client always gets a reply before
//! its own retry timer (glibc: 5 s) fires.
//!
//! The query goes out unchanged, id included: the id the client picked is what it will match
//! the reply on, and a fresh socket per query (its own random port, connected to the one
//! upstream, so the kernel drops datagrams from anyone else) keeps replies apart.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Header, MessageType, ResponseCode};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout, Instant};
use tracing::debug;

use crate::frame::{read_message, write_message};
use crate::message::Transport;

/// The upstream's reply to `query`, or `None` when none of `upstreams` gave a usable one
/// within `budget`. Over the client's own transport: a client that came over TCP after a
/// truncated answer must not get the same truncated answer again.
pub(crate) async fn forward(
    query: &[u8],
    upstreams: &[SocketAddr],
    transport: Transport,
    budget: Duration,
) -> Option<Vec<u8>> {
    let id = Header::read(&mut BinDecoder::new(query)).ok()?.id;
    let deadline = Instant::now() + budget;
    for (tried, &upstream) in upstreams.iter().enumerate() {
        // An equal share of what is left: one that fails fast leaves more to the next.
        let left = u32::try_from(upstreams.len() - tried).unwrap_or(u32::MAX);
        let share = deadline.saturating_duration_since(Instant::now()) / left;
        match timeout(share, exchange(query, id, upstream, transport)).await {
            Ok(Ok(reply)) => return Some(reply),
            Ok(Err(error)) => debug!(%upstream, %error, "upstream failed, trying the next"),
            Err(_) => debug!(%upstream, ?share, "upstream timed out, trying the next"),
        }
    }
    None
}

/// One query to one upstream.
async fn exchange(
    query: &[u8],
    id: u16,
    upstream: SocketAddr,
    transport: Transport,
) -> io::Result<Vec<u8>> {
    match transport {
        Transport::Udp => {
            let any: SocketAddr = match upstream {
                SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            let socket = UdpSocket::bind(any).await?;
            socket.connect(upstream).await?;
            socket.send(query).await?;
            let mut buf = vec![0; usize::from(u16::MAX)];
            loop {
                let len = socket.recv(&mut buf).await?;
                match verdict(id, &buf[..len]) {
                    Verdict::Usable => return Ok(buf[..len].to_vec()),
                    Verdict::Failed => return Err(failed()),
                    Verdict::Stray => continue,
                }
            }
        }
        Transport::Tcp => {
            let mut stream = TcpStream::connect(upstream).await?;
            write_message(&mut stream, query).await?;
            let reply = read_message(&mut stream).await?;
            match verdict(id, &reply) {
                Verdict::Usable => Ok(reply),
                Verdict::Failed | Verdict::Stray => Err(failed()),
            }
        }
    }
}

fn failed() -> io::Error {
    io::Error::other("SERVFAIL or a reply to another query")
}

/// What an upstream's datagram is to the query with `id`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The reply, to relay.
    Usable,
    /// The upstream could not resolve it (SERVFAIL): another upstream may.
    Failed,
    /// Not a reply to this query (a late reply to an earlier one, garbage): keep waiting.
    Stray,
}

fn verdict(id: u16, reply: &[u8]) -> Verdict {
    match Header::read(&mut BinDecoder::new(reply)) {
        Ok(header) if header.id == id && header.message_type == MessageType::Response => {
            if header.response_code == ResponseCode::ServFail {
                Verdict::Failed
            } else {
                Verdict::Usable
            }
        }
        _ => Verdict::Stray,
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, OpCode};

    use super::*;

    fn reply(id: u16, message_type: MessageType, code: ResponseCode) -> Vec<u8> {
        let mut message = Message::error_msg(id, OpCode::Query, code);
        message.metadata.message_type = message_type;
        message.to_vec().unwrap()
    }

    #[test]
    fn only_a_response_with_the_querys_id_counts_and_servfail_moves_on() {
        let cases: &[(&str, Vec<u8>, Verdict)] = &[
            (
                "answer",
                reply(7, MessageType::Response, ResponseCode::NoError),
                Verdict::Usable,
            ),
            (
                "NXDOMAIN is an answer",
                reply(7, MessageType::Response, ResponseCode::NXDomain),
                Verdict::Usable,
            ),
            (
                "SERVFAIL",
                reply(7, MessageType::Response, ResponseCode::ServFail),
                Verdict::Failed,
            ),
            (
                "other id",
                reply(8, MessageType::Response, ResponseCode::NoError),
                Verdict::Stray,
            ),
            (
                "a query",
                reply(7, MessageType::Query, ResponseCode::NoError),
                Verdict::Stray,
            ),
            ("garbage", vec![0, 7, 0x80], Verdict::Stray),
        ];
        for (why, bytes, want) in cases {
            assert_eq!(&verdict(7, bytes), want, "{why}");
        }
    }
}
