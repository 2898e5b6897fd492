use std::net::SocketAddrV4;

use types::PortProtocol;

use super::*;

/// Lines as a 6.x kernel prints them: a client's connection through the mesh (DNAT'd and
/// masqueraded to a task), the node's own DNS lookup, a UDP flow through the mesh with
/// timestamps on, an ICMP ping and an IPv6 flow (both skipped).
const SAMPLE: &str = "\
ipv4     2 tcp      6 431996 ESTABLISHED src=192.168.56.100 dst=192.168.56.11 sport=40522 dport=8080 src=10.255.0.5 dst=10.255.0.2 sport=80 dport=40522 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 27 src=10.0.2.15 dst=10.0.2.3 sport=41208 dport=53 [UNREPLIED] src=10.0.2.3 dst=10.0.2.15 sport=53 dport=41208 mark=0 zone=0 use=2
ipv4     2 udp      17 170 src=192.168.56.100 dst=192.168.56.12 sport=5000 dport=5353 src=10.255.0.6 dst=10.255.0.3 sport=53 dport=5000 [ASSURED] mark=0 delta-time=42 use=2
ipv4     2 icmp     1 29 src=192.168.56.100 dst=192.168.56.11 type=8 code=0 id=7 src=192.168.56.11 dst=192.168.56.100 type=0 code=0 id=7 mark=0 use=1
ipv6     10 tcp      6 117 TIME_WAIT src=fd00::1 dst=fd00::2 sport=1 dport=2 src=fd00::2 dst=fd00::1 sport=2 dport=1 [ASSURED] mark=0 use=1
ipv4     2 tcp      6 118 TIME_WAIT src=192.168.56.100 dst=192.168.56.11 sport=40000 dport=22 src=192.168.56.11 dst=192.168.56.100 sport=22 dport=40000 [ASSURED] mark=0 use=1
";

/// protocol, client, backend, state, timeout, age
type Summary<'a> = (
    PortProtocol,
    SocketAddrV4,
    SocketAddrV4,
    &'a str,
    u64,
    Option<u64>,
);

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

#[test]
fn parses_tcp_and_udp_skips_the_rest() {
    let conns = parse(SAMPLE);
    let summary: Vec<Summary> = conns
        .iter()
        .map(|c| {
            (
                c.protocol,
                c.original.src,
                c.reply.src,
                c.state.as_str(),
                c.timeout_secs,
                c.age_secs,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                PortProtocol::Tcp,
                sa("192.168.56.100:40522"),
                sa("10.255.0.5:80"),
                "ESTABLISHED",
                431996,
                None
            ),
            (
                PortProtocol::Udp,
                sa("10.0.2.15:41208"),
                sa("10.0.2.3:53"),
                "UNREPLIED",
                27,
                None
            ),
            (
                PortProtocol::Udp,
                sa("192.168.56.100:5000"),
                sa("10.255.0.6:53"),
                "ASSURED",
                170,
                Some(42)
            ),
            (
                PortProtocol::Tcp,
                sa("192.168.56.100:40000"),
                sa("192.168.56.11:22"),
                "TIME_WAIT",
                118,
                None
            ),
        ]
    );
    assert_eq!(conns[0].original.dst, sa("192.168.56.11:8080"));
    assert_eq!(conns[0].reply.dst, sa("10.255.0.2:40522"));
}

#[test]
fn malformed_lines_are_skipped() {
    let text = "ipv4 2 tcp 6 notanumber ESTABLISHED src=1.2.3.4\n\
                ipv4 2 tcp 6 10 ESTABLISHED src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2\n\
                garbage\n\n";
    assert!(parse(text).is_empty());
}

#[test]
fn keeps_only_dnatted_connections_to_published_ports() {
    let published = [(PortProtocol::Tcp, 8080), (PortProtocol::Udp, 5353)];
    let kept: Vec<SocketAddrV4> = through_mesh(parse(SAMPLE), &published)
        .iter()
        .map(|c| c.original.src)
        .collect();
    // The DNS lookup and SSH connection are the node's own; port 5353 over TCP is not published.
    assert_eq!(
        kept,
        vec![sa("192.168.56.100:40522"), sa("192.168.56.100:5000")]
    );
    assert!(through_mesh(parse(SAMPLE), &[(PortProtocol::Tcp, 5353)]).is_empty());
}

#[test]
fn a_port_answered_by_the_node_itself_is_not_mesh_traffic() {
    let line = "ipv4 2 tcp 6 100 ESTABLISHED src=192.168.56.100 dst=192.168.56.11 sport=1 dport=8080 src=192.168.56.11 dst=192.168.56.100 sport=8080 dport=1 [ASSURED] use=1";
    assert!(through_mesh(parse(line), &[(PortProtocol::Tcp, 8080)]).is_empty());
}
