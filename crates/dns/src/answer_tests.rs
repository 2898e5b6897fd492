use std::net::Ipv4Addr;

use hickory_proto::rr::RecordType;

use super::{resolve, Resolution};
use crate::zone::{ServiceRecord, Zone};
use Resolution::{NoData, NoSuchName, NotOurs};

fn ip(d: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, d)
}

/// A client on `front` then `back`, one on `back` only, one on a network with nothing, one
/// on `back` then `front`.
/// `front`: web (VIP .2, tasks .3 .4, alias `www`), db (dnsrr, tasks .5 .6), idle (dnsrr,
/// no task). `back`: web again (VIP .20: the duplicate name), api (VIP .30, alias `www`).
fn zone() -> Zone {
    Zone::new()
        .with_service(
            "front",
            ServiceRecord::vip("web", ip(2))
                .with_alias("www")
                .with_task("web.1.aaaaaaaaaaaa", ip(3))
                .with_task("web.2.bbbbbbbbbbbb", ip(4)),
        )
        .with_service(
            "front",
            ServiceRecord::dnsrr("db")
                .with_task("db.1.cccccccccccc", ip(5))
                .with_task("db.2.dddddddddddd", ip(6)),
        )
        .with_service("front", ServiceRecord::dnsrr("idle"))
        .with_service("back", ServiceRecord::vip("web", ip(20)))
        .with_service("back", ServiceRecord::vip("api", ip(30)).with_alias("www"))
        .with_client(ip(100), ["front", "back"])
        .with_client(ip(101), ["back"])
        .with_client(ip(102), ["empty"])
        .with_client(ip(103), ["back", "front"])
}

const BOTH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const BACK: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 101);
const NOTHING: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 102);
const BACK_FIRST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 103);
const STRANGER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 199);

fn answer(last_octets: &[u8]) -> Resolution {
    Resolution::Answer(last_octets.iter().map(|&d| ip(d)).collect())
}

/// Why, client, question name and type, expected resolution.
type Case = (&'static str, Ipv4Addr, &'static str, RecordType, Resolution);

fn check(cases: &[Case]) {
    for (why, client, qname, qtype, want) in cases {
        assert_eq!(
            &resolve(&zone(), *client, qname, *qtype),
            want,
            "{why}: {qname} {qtype} from {client}"
        );
    }
}

#[test]
fn names_resolve_by_the_rules_of_the_embedded_dns() {
    use RecordType::{A, AAAA, MX, PTR};
    let cases: &[Case] = &[
        ("vip service", BOTH, "web", A, answer(&[2])),
        ("dnsrr service", BOTH, "db", A, answer(&[5, 6])),
        ("alias", BOTH, "www", A, answer(&[2])),
        ("tasks. of vip", BOTH, "tasks.web", A, answer(&[3, 4])),
        ("tasks. of dnsrr", BOTH, "tasks.db", A, answer(&[5, 6])),
        ("tasks. of alias", BOTH, "tasks.www", A, answer(&[3, 4])),
        ("task name", BOTH, "web.2.bbbbbbbbbbbb", A, answer(&[4])),
        ("upper case", BOTH, "WeB", A, answer(&[2])),
        ("upper-case tasks.", BOTH, "TASKS.Web", A, answer(&[3, 4])),
        ("trailing dot", BOTH, "web.", A, answer(&[2])),
        ("first network wins", BOTH, "web", A, answer(&[2])),
        ("order decides", BACK_FIRST, "web", A, answer(&[20])),
        ("second network", BOTH, "api", A, answer(&[30])),
        ("same name, other net", BACK, "web", A, answer(&[20])),
        ("alias is per network", BACK, "www", A, answer(&[30])),
        ("other network's name", BACK, "db", A, NotOurs),
        ("other net's task", BACK, "web.1.aaaaaaaaaaaa", A, NotOurs),
        ("unknown client", STRANGER, "web", A, NotOurs),
        ("empty network", NOTHING, "web", A, NotOurs),
        ("foreign name", BOTH, "example.com", A, NotOurs),
        ("name plus a domain", BOTH, "web.example.com", A, NotOurs),
        ("tasks. of nothing", BOTH, "tasks.nope", A, NotOurs),
        ("bare tasks.", BOTH, "tasks.", A, NotOurs),
        ("root", BOTH, ".", A, NotOurs),
        ("AAAA of a service", BOTH, "web", AAAA, NoData),
        ("MX of a task", BOTH, "web.1.aaaaaaaaaaaa", MX, NoData),
        ("PTR of a service name", BOTH, "web", PTR, NoData),
        ("dnsrr without tasks", BOTH, "idle", A, NoData),
        ("tasks. without tasks", BOTH, "tasks.idle", A, NoData),
        ("domain from a hostname", BOTH, "api.1", A, NoSuchName),
        ("its AAAA too", BOTH, "api.1", AAAA, NoSuchName),
        ("numeric TLD", BOTH, "example.123", A, NoSuchName),
        ("a number alone", BOTH, "123", A, NotOurs),
        ("digits inside", BOTH, "web1.example.com", A, NotOurs),
        ("stranger's numeric TLD", STRANGER, "api.1", A, NotOurs),
    ];
    check(cases);
}

#[test]
fn reverse_lookups_name_the_vip_or_the_task_on_the_clients_networks() {
    use RecordType::{A, PTR};
    let pointer = |name: &str| Resolution::Pointer(name.to_string());
    let cases: &[Case] = &[
        ("vip", BOTH, "2.0.0.10.in-addr.arpa", PTR, pointer("web")),
        (
            "task",
            BOTH,
            "4.0.0.10.in-addr.arpa.",
            PTR,
            pointer("web.2.bbbbbbbbbbbb"),
        ),
        (
            "dnsrr task",
            BOTH,
            "5.0.0.10.IN-ADDR.ARPA",
            PTR,
            pointer("db.1.cccccccccccc"),
        ),
        (
            "second network",
            BOTH,
            "30.0.0.10.in-addr.arpa",
            PTR,
            pointer("api"),
        ),
        (
            "not on its networks",
            BACK,
            "2.0.0.10.in-addr.arpa",
            PTR,
            NotOurs,
        ),
        (
            "address nobody has",
            BOTH,
            "99.0.0.10.in-addr.arpa",
            PTR,
            NotOurs,
        ),
        ("a subnet", BOTH, "0.0.10.in-addr.arpa", PTR, NotOurs),
        (
            "unknown client",
            STRANGER,
            "2.0.0.10.in-addr.arpa",
            PTR,
            NotOurs,
        ),
        (
            "A of a reverse name",
            BOTH,
            "2.0.0.10.in-addr.arpa",
            A,
            NotOurs,
        ),
    ];
    check(cases);
}
