//! The resolver over real loopback sockets: answers, zone updates, forwarding and its
//! failures, shutdown. The rules themselves are table-tested in the library; these check
//! that the shell moves the bytes and keeps its time limits.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dns::{Resolver, ServiceRecord, Zone};
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// What the fake upstream answers for every name.
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn zone(vip: Ipv4Addr) -> Zone {
    Zone::new()
        .with_service("net", ServiceRecord::vip("web", vip))
        .with_service(
            "net",
            ServiceRecord::dnsrr("db")
                .with_task("db.1.a", Ipv4Addr::new(10, 0, 0, 5))
                .with_task("db.2.b", Ipv4Addr::new(10, 0, 0, 6)),
        )
        .with_client(LOCALHOST, ["net"])
}

/// A running resolver on 127.0.0.1:0.
struct Running {
    addr: SocketAddr,
    zone: watch::Sender<Arc<Zone>>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

async fn start(upstreams: Vec<SocketAddr>) -> Running {
    let (zone, watched) = watch::channel(Arc::new(zone(Ipv4Addr::new(10, 0, 0, 2))));
    let resolver = Resolver::bind((LOCALHOST, 0).into(), watched, upstreams)
        .await
        .unwrap();
    let addr = resolver.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(resolver.run(shutdown.clone()));
    Running {
        addr,
        zone,
        shutdown,
        task,
    }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        timeout(Duration::from_secs(1), self.task)
            .await
            .expect("the resolver stops within a second of the cancel")
            .unwrap();
    }
}

fn query(id: u16, name: &str) -> Message {
    let mut query = Message::query();
    query.metadata.id = id;
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    query
}

/// Asks over UDP; the reply and how long it took.
async fn udp_ask(server: SocketAddr, id: u16, name: &str) -> (Message, Duration) {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let started = Instant::now();
    socket
        .send_to(&query(id, name).to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buf = vec![0; 4096];
    let len = timeout(Duration::from_secs(3), socket.recv(&mut buf))
        .await
        .expect("a reply within 3 s")
        .unwrap();
    let reply = Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(reply.metadata.id, id, "the reply carries the client's id");
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    (reply, started.elapsed())
}

async fn tcp_ask(server: SocketAddr, id: u16, name: &str) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let reply = timeout(Duration::from_secs(3), async {
        write_framed(&mut stream, &query(id, name).to_vec().unwrap()).await;
        read_framed(&mut stream).await
    })
    .await
    .expect("a reply within 3 s");
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.id, id);
    reply
}

async fn write_framed(stream: &mut TcpStream, message: &[u8]) {
    use tokio::io::AsyncWriteExt;
    let len = u16::try_from(message.len()).unwrap();
    stream.write_all(&len.to_be_bytes()).await.unwrap();
    stream.write_all(message).await.unwrap();
}

async fn read_framed(stream: &mut TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let len = stream.read_u16().await.unwrap();
    let mut message = vec![0; usize::from(len)];
    stream.read_exact(&mut message).await.unwrap();
    message
}

fn addresses(reply: &Message) -> Vec<Ipv4Addr> {
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    reply
        .answers
        .iter()
        .map(|record| match &record.data {
            RData::A(a) => a.0,
            other => panic!("expected an A record, got {other:?}"),
        })
        .collect()
}

/// The reply of an upstream that knows every name as [`UPSTREAM_ANSWER`].
fn upstream_reply(query: &[u8]) -> Vec<u8> {
    let query = Message::from_vec(query).unwrap();
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.add_queries(query.queries.iter().cloned());
    let name = query.queries[0].name().clone();
    reply.add_answer(Record::from_rdata(name, 60, RData::A(A(UPSTREAM_ANSWER))));
    reply.to_vec().unwrap()
}

/// A fake upstream answering every query, over UDP and TCP on one port, until the test ends.
async fn fake_upstream() -> SocketAddr {
    let udp = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0; 4096];
        while let Ok((len, peer)) = udp.recv_from(&mut buf).await {
            udp.send_to(&upstream_reply(&buf[..len]), peer)
                .await
                .unwrap();
        }
    });
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let query = read_framed(&mut stream).await;
            write_framed(&mut stream, &upstream_reply(&query)).await;
        }
    });
    addr
}

/// An upstream that takes every query and never answers (kept open by the returned socket).
async fn silent_upstream() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

#[tokio::test]
async fn answers_over_udp_and_tcp_and_sees_a_zone_update_on_the_next_query() {
    let resolver = start(Vec::new()).await;

    let (reply, _) = udp_ask(resolver.addr, 1, "web.").await;
    assert_eq!(addresses(&reply), [Ipv4Addr::new(10, 0, 0, 2)]);
    assert!(reply.metadata.recursion_available);
    let (reply, _) = udp_ask(resolver.addr, 2, "tasks.db.").await;
    assert_eq!(
        addresses(&reply),
        [Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6)]
    );
    let reply = tcp_ask(resolver.addr, 3, "DB.").await;
    assert_eq!(
        addresses(&reply),
        [Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6)]
    );

    resolver
        .zone
        .send(Arc::new(zone(Ipv4Addr::new(10, 0, 0, 42))))
        .unwrap();
    let (reply, _) = udp_ask(resolver.addr, 4, "web.").await;
    assert_eq!(addresses(&reply), [Ipv4Addr::new(10, 0, 0, 42)]);

    resolver.stop().await;
}

#[tokio::test]
async fn names_not_ours_are_relayed_from_the_upstream_over_the_clients_transport() {
    let upstream = fake_upstream().await;
    let resolver = start(vec![upstream]).await;

    let (reply, _) = udp_ask(resolver.addr, 0xbeef, "example.com.").await;
    assert_eq!(addresses(&reply), [UPSTREAM_ANSWER]);
    let reply = tcp_ask(resolver.addr, 0xcafe, "example.org.").await;
    assert_eq!(addresses(&reply), [UPSTREAM_ANSWER]);

    resolver.stop().await;
}

#[tokio::test]
async fn a_silent_first_upstream_costs_its_share_then_the_next_answers() {
    let (_silent, silent) = silent_upstream().await;
    let upstream = fake_upstream().await;
    let resolver = start(vec![silent, upstream]).await;

    let (reply, took) = udp_ask(resolver.addr, 7, "example.com.").await;
    assert_eq!(addresses(&reply), [UPSTREAM_ANSWER]);
    assert!(took < Duration::from_millis(900), "took {took:?}");

    resolver.stop().await;
}

#[tokio::test]
async fn no_upstream_is_a_fast_servfail() {
    let resolver = start(Vec::new()).await;

    let (reply, took) = udp_ask(resolver.addr, 9, "example.com.").await;
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(reply.queries, query(9, "example.com.").queries);
    assert!(took < Duration::from_millis(100), "took {took:?}");

    resolver.stop().await;
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_servfail_within_the_budget() {
    let (_silent, silent) = silent_upstream().await;
    let resolver = start(vec![silent]).await;

    let (reply, took) = udp_ask(resolver.addr, 10, "example.com.").await;
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    assert!(took >= dns::FORWARD_BUDGET, "gave up early: {took:?}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");

    resolver.stop().await;
}

#[tokio::test]
async fn stops_at_once_with_a_forward_and_a_tcp_connection_in_flight() {
    let (_silent, silent) = silent_upstream().await;
    let resolver = start(vec![silent]).await;
    let client = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    client
        .send_to(&query(11, "example.com.").to_vec().unwrap(), resolver.addr)
        .await
        .unwrap();
    let _idle = TcpStream::connect(resolver.addr).await.unwrap();
    // Let the resolver take both in before the cancel.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let stopping = Instant::now();
    resolver.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_millis(500),
        "took {:?}",
        stopping.elapsed()
    );
}

#[tokio::test]
async fn sockets_bound_elsewhere_answer_for_the_client_the_caller_names() {
    // The zone knows 10.0.0.9 on `net`; queries come from 127.0.0.1, which it does not.
    let z = Zone::new()
        .with_service("net", ServiceRecord::vip("web", Ipv4Addr::new(10, 0, 0, 2)))
        .with_client(Ipv4Addr::new(10, 0, 0, 9), ["net"]);
    let (_zone, watched) = watch::channel(Arc::new(z));
    let udp = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let tcp = std::net::TcpListener::bind(udp.local_addr().unwrap()).unwrap();
    let client = Ipv4Addr::new(10, 0, 0, 9).into();
    let resolver = Resolver::from_std(udp, tcp, client, watched, Vec::new()).unwrap();
    let addr = resolver.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(resolver.run(shutdown.clone()));
    let (reply, _) = udp_ask(addr, 7, "web").await;
    assert_eq!(addresses(&reply), [Ipv4Addr::new(10, 0, 0, 2)]);
    let reply = tcp_ask(addr, 8, "WEB.").await;
    assert_eq!(addresses(&reply), [Ipv4Addr::new(10, 0, 0, 2)]);
    shutdown.cancel();
    timeout(Duration::from_secs(1), task)
        .await
        .unwrap()
        .unwrap();
}
