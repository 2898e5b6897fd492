use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::PTR;
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use super::{respond, Reply, Transport, TTL};
use crate::zone::{ServiceRecord, Zone};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

fn zone() -> Zone {
    let crowd = (1..=40).fold(ServiceRecord::dnsrr("crowd"), |service, slot| {
        service.with_task(format!("crowd.{slot}.x"), Ipv4Addr::new(10, 0, 1, slot))
    });
    let long_name = format!("odd.1.{}", "x".repeat(70));
    Zone::new()
        .with_service("net", ServiceRecord::vip("web", Ipv4Addr::new(10, 0, 0, 2)))
        .with_service(
            "net",
            ServiceRecord::dnsrr("db")
                .with_task("db.1.a", Ipv4Addr::new(10, 0, 0, 5))
                .with_task("db.2.b", Ipv4Addr::new(10, 0, 0, 6)),
        )
        .with_service(
            "net",
            ServiceRecord::dnsrr("odd").with_task(long_name, Ipv4Addr::new(10, 0, 0, 7)),
        )
        .with_service("net", crowd)
        .with_client(CLIENT, ["net"])
}

fn query(name: &str, qtype: RecordType) -> Message {
    let mut query = Message::query();
    query.metadata.id = 0x1234;
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    query
}

fn with_edns(mut message: Message, max_payload: u16) -> Message {
    let mut edns = Edns::new();
    edns.set_max_payload(max_payload);
    message.set_edns(edns);
    message
}

fn ask(message: &Message, client: IpAddr, transport: Transport) -> Reply {
    respond(&zone(), client, &message.to_vec().unwrap(), transport)
}

/// The reply to `message` from the client over UDP, which must be an answer.
fn answered(message: &Message) -> Message {
    match ask(message, CLIENT.into(), Transport::Udp) {
        Reply::Answer(bytes) => Message::from_vec(&bytes).unwrap(),
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn addresses(reply: &Message) -> Vec<Ipv4Addr> {
    let addr = |data: &RData| match data {
        RData::A(a) => a.0,
        other => panic!("expected an A record, got {other:?}"),
    };
    reply
        .answers
        .iter()
        .map(|record| addr(&record.data))
        .collect()
}

#[test]
fn an_answer_echoes_id_flags_and_question_with_short_lived_records() {
    let asked = query("Web.", RecordType::A);
    let reply = answered(&asked);
    assert_eq!(reply.metadata.id, 0x1234);
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.metadata.recursion_desired);
    assert!(reply.metadata.recursion_available);
    assert!(reply.metadata.authoritative);
    assert_eq!(reply.queries, asked.queries);
    assert_eq!(addresses(&reply), [Ipv4Addr::new(10, 0, 0, 2)]);
    let record = &reply.answers[0];
    assert_eq!(record.ttl, TTL);
    assert_eq!(record.name, Name::from_ascii("Web.").unwrap());
    assert!(
        reply.edns.is_none(),
        "no OPT record unless the client sent one"
    );
}

#[test]
fn resolutions_become_records_or_empty_answers() {
    let dnsrr = answered(&query("db.", RecordType::A));
    assert_eq!(
        addresses(&dnsrr),
        [Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6)]
    );

    for qtype in [RecordType::AAAA, RecordType::TXT] {
        let nodata = answered(&query("web.", qtype));
        assert_eq!(
            nodata.metadata.response_code,
            ResponseCode::NoError,
            "{qtype}"
        );
        assert!(nodata.answers.is_empty(), "{qtype}");
    }

    let ptr = answered(&query("6.0.0.10.in-addr.arpa.", RecordType::PTR));
    match &ptr.answers[..] {
        [record] => assert_eq!(
            record.data,
            RData::PTR(PTR(Name::from_ascii("db.2.b.").unwrap()))
        ),
        other => panic!("expected one PTR record, got {other:?}"),
    }

    let invalid_name = answered(&query("7.0.0.10.in-addr.arpa.", RecordType::PTR));
    assert_eq!(invalid_name.metadata.response_code, ResponseCode::NoError);
    assert!(
        invalid_name.answers.is_empty(),
        "a label over 63 bytes is no DNS name"
    );
}

#[test]
fn names_not_ours_are_forwarded_with_a_servfail_ready_for_when_upstreams_fail() {
    let mut chaos = query("web.", RecordType::A);
    chaos.queries[0].set_query_class(DNSClass::CH);
    let cases: &[(&str, Message, IpAddr)] = &[
        (
            "foreign name",
            query("example.com.", RecordType::A),
            CLIENT.into(),
        ),
        (
            "unknown client",
            query("web.", RecordType::A),
            Ipv4Addr::new(10, 9, 9, 9).into(),
        ),
        (
            "IPv6 client",
            query("web.", RecordType::A),
            Ipv6Addr::LOCALHOST.into(),
        ),
        ("class CH", chaos, CLIENT.into()),
    ];
    for (why, asked, client) in cases {
        let Reply::Forward { servfail } = ask(asked, *client, Transport::Udp) else {
            panic!("{why}: expected a forward");
        };
        let servfail = Message::from_vec(&servfail).unwrap();
        assert_eq!(
            servfail.metadata.response_code,
            ResponseCode::ServFail,
            "{why}"
        );
        assert_eq!(servfail.metadata.id, 0x1234, "{why}");
        assert_eq!(servfail.queries, asked.queries, "{why}");
        assert!(servfail.answers.is_empty(), "{why}");
    }
}

#[test]
fn a_v4_mapped_v6_source_is_the_same_client() {
    let mapped = IpAddr::V6(CLIENT.to_ipv6_mapped());
    let Reply::Answer(bytes) = ask(&query("web.", RecordType::A), mapped, Transport::Udp) else {
        panic!("expected an answer");
    };
    assert_eq!(
        addresses(&Message::from_vec(&bytes).unwrap()),
        [Ipv4Addr::new(10, 0, 0, 2)]
    );
}

#[test]
fn bad_queries_get_an_error_code_or_nothing() {
    let code = |reply: Reply| match reply {
        Reply::Answer(bytes) => {
            let reply = Message::from_vec(&bytes).unwrap();
            assert_eq!(reply.metadata.id, 0x1234);
            Some(reply.metadata.response_code)
        }
        Reply::Drop => None,
        Reply::Forward { .. } => panic!("an error must not be forwarded"),
    };
    let mut notify = query("web.", RecordType::A);
    notify.metadata.op_code = OpCode::Notify;
    let mut two_questions = query("web.", RecordType::A);
    two_questions.add_query(Query::query(
        Name::from_ascii("db.").unwrap(),
        RecordType::A,
    ));
    let mut no_question = query("web.", RecordType::A);
    no_question.queries.clear();
    let mut a_response = query("web.", RecordType::A);
    a_response.metadata.message_type = MessageType::Response;
    let mut garbage = query("web.", RecordType::A).to_vec().unwrap();
    garbage.truncate(14);

    let cases: &[(&str, Vec<u8>, Option<ResponseCode>)] = &[
        (
            "opcode NOTIFY",
            notify.to_vec().unwrap(),
            Some(ResponseCode::NotImp),
        ),
        (
            "two questions",
            two_questions.to_vec().unwrap(),
            Some(ResponseCode::FormErr),
        ),
        (
            "no question",
            no_question.to_vec().unwrap(),
            Some(ResponseCode::FormErr),
        ),
        ("cut in the question", garbage, Some(ResponseCode::FormErr)),
        ("shorter than a header", vec![0x12, 0x34, 0x01], None),
        ("a response", a_response.to_vec().unwrap(), None),
    ];
    for (why, bytes, want) in cases {
        let got = code(respond(&zone(), CLIENT.into(), bytes, Transport::Udp));
        assert_eq!(&got, want, "{why}");
    }
}

#[test]
fn udp_replies_fit_the_clients_size_or_are_truncated_for_a_retry_over_tcp() {
    // 40 A records: about 700 bytes, over 512 but under an EDNS size of 1232.
    let asked = query("tasks.crowd.", RecordType::A);
    let cases: &[(&str, Message, Transport, bool, usize)] = &[
        ("UDP, no EDNS", asked.clone(), Transport::Udp, true, 0),
        (
            "UDP, EDNS 1232",
            with_edns(asked.clone(), 1232),
            Transport::Udp,
            false,
            40,
        ),
        (
            "UDP, EDNS 600",
            with_edns(asked.clone(), 600),
            Transport::Udp,
            true,
            0,
        ),
        (
            "UDP, EDNS below 512",
            with_edns(asked.clone(), 100),
            Transport::Udp,
            true,
            0,
        ),
        ("TCP, no EDNS", asked.clone(), Transport::Tcp, false, 40),
    ];
    for (why, message, transport, truncated, answers) in cases {
        let Reply::Answer(bytes) = ask(message, CLIENT.into(), *transport) else {
            panic!("{why}: expected an answer");
        };
        let reply = Message::from_vec(&bytes).unwrap();
        assert_eq!(reply.metadata.truncation, *truncated, "{why}");
        assert_eq!(reply.answers.len(), *answers, "{why}");
        assert_eq!(reply.queries, asked.queries, "{why}");
        assert_eq!(reply.edns.is_some(), message.edns.is_some(), "{why}");
        if *transport == Transport::Udp {
            let limit = message
                .edns
                .as_ref()
                .map_or(512, |e| e.max_payload().max(512));
            assert!(
                bytes.len() <= usize::from(limit),
                "{why}: {} bytes",
                bytes.len()
            );
        }
    }
}

#[test]
fn the_reply_offers_at_most_our_udp_size() {
    let reply = answered(&with_edns(query("web.", RecordType::A), 4096));
    assert_eq!(
        reply.edns.map(|e| e.max_payload()),
        Some(super::MAX_UDP_PAYLOAD)
    );
}

#[test]
fn a_name_with_a_numeric_tld_is_an_nxdomain_at_once() {
    let asked = query("web.1", RecordType::A);
    let reply = answered(&asked);
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(reply.metadata.authoritative);
    assert_eq!(reply.queries[0].name().to_ascii(), "web.1.");
    assert!(reply.answers.is_empty());
}
