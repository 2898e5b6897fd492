use super::*;
use crate::plan::{MeshPlan, MeshPort};

fn plan(ports: Vec<MeshPort>) -> MeshPlan {
    MeshPlan {
        bridge: "swarm-ingress".into(),
        subnet: "10.255.0.0/16".parse().unwrap(),
        ports,
    }
}

fn port(
    proto: PortProtocol,
    published: u16,
    mode: PublishMode,
    name: &str,
    backends: &[&str],
) -> MeshPort {
    MeshPort {
        protocol: proto,
        published,
        mode,
        service_name: name.into(),
        backends: backends.iter().map(|b| b.parse().unwrap()).collect(),
    }
}

/// The filter that keeps the LAN out of the ingress bridge; in every ruleset, before
/// postrouting.
const FWD: &str = "\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\toifname \"swarm-ingress\" iifname != \"swarm-ingress\" ct state established,related accept
\t\toifname \"swarm-ingress\" iifname != \"swarm-ingress\" ct status dnat accept
\t\toifname \"swarm-ingress\" iifname != \"swarm-ingress\" drop
\t}
";

const POST: &str = "\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname \"swarm-ingress\" ct mark 0x53570001 masquerade
\t\toifname \"swarm-ingress\" ip saddr 127.0.0.0/8 ct status dnat masquerade
\t\toifname != \"swarm-ingress\" ip saddr 10.255.0.0/16 masquerade
\t}
}
";

/// The maps a ruleset looks ports up in, and its hook chains (fwmark mode adds the marking ones).
fn lookups(dnat: &str, mark: Option<&str>, closed: &str) -> String {
    let map = |name: &str, elements: &str| {
        let elements = if elements.is_empty() {
            String::new()
        } else {
            format!("\t\telements = {{ {elements} }}\n")
        };
        format!("\tmap {name} {{\n\t\ttype inet_proto . inet_service : verdict\n{elements}\t}}\n")
    };
    let hook = |name: &str, hook: &str, map: &str| {
        format!(
            "\tchain {name} {{\n\t\t{hook}; policy accept;\n\t\tfib daddr type local meta l4proto . th dport vmap @{map}\n\t}}\n"
        )
    };
    let mut out = map("dnat_ports", dnat);
    if let Some(mark) = mark {
        out += &map("mark_ports", mark);
    }
    out += &map("closed_ports", closed);
    out += &hook(
        "prerouting",
        "type nat hook prerouting priority dstnat",
        "dnat_ports",
    );
    out += &hook("output", "type nat hook output priority -100", "dnat_ports");
    if mark.is_some() {
        out += &hook(
            "mark_prerouting",
            "type filter hook prerouting priority mangle",
            "mark_ports",
        );
        out += &hook(
            "mark_output",
            "type route hook output priority mangle",
            "mark_ports",
        );
    }
    out += &hook(
        "input",
        "type filter hook input priority filter",
        "closed_ports",
    );
    out
}

const HEAD: &str = "table ip swarmd_mesh {}\ndelete table ip swarmd_mesh\ntable ip swarmd_mesh {\n";

#[test]
fn empty_plan_keeps_only_task_egress_and_masquerade() {
    let expected = format!("{HEAD}{}{FWD}{POST}", lookups("", None, ""));
    assert_eq!(render(&plan(vec![]), IngressMode::Dnat), expected);
}

#[test]
fn ingress_host_and_empty_ports_in_dnat_mode() {
    let p = plan(vec![
        port(
            PortProtocol::Tcp,
            8080,
            PublishMode::Ingress,
            "web",
            &["10.255.0.5:80", "10.255.0.6:80"],
        ),
        port(PortProtocol::Tcp, 8081, PublishMode::Ingress, "api", &[]),
        port(PortProtocol::Udp, 5353, PublishMode::Ingress, "dns", &[]),
        port(
            PortProtocol::Tcp,
            9090,
            PublishMode::Host,
            "edge",
            &["10.255.0.7:90"],
        ),
    ]);
    let chains = "\tchain p_tcp_8080 {
\t\ttcp dport 8080 ct mark set 0x53570001 dnat ip to numgen inc mod 2 map { 0 : 10.255.0.5 . 80, 1 : 10.255.0.6 . 80 } comment \"web\"
\t}
\tchain r_tcp_8081 {
\t\ttcp dport 8081 reject with tcp reset comment \"api\"
\t}
\tchain p_tcp_9090 {
\t\ttcp dport 9090 ct mark set 0x53570002 dnat ip to numgen inc mod 1 map { 0 : 10.255.0.7 . 90 } comment \"edge\"
\t}
\tchain r_udp_5353 {
\t\tudp dport 5353 reject comment \"dns\"
\t}
";
    let maps = lookups(
        "tcp . 8080 : jump p_tcp_8080, tcp . 9090 : jump p_tcp_9090",
        None,
        "tcp . 8081 : jump r_tcp_8081, udp . 5353 : jump r_udp_5353",
    );
    let expected = format!("{HEAD}{chains}{maps}{FWD}{POST}");
    assert_eq!(render(&p, IngressMode::Dnat), expected);
}

#[test]
fn fwmark_mode_marks_ingress_ports_and_still_dnats_host_ports() {
    let p = plan(vec![
        port(
            PortProtocol::Tcp,
            8080,
            PublishMode::Ingress,
            "web",
            &["10.255.0.5:80"],
        ),
        port(
            PortProtocol::Tcp,
            9090,
            PublishMode::Host,
            "edge",
            &["10.255.0.7:90"],
        ),
    ]);
    let chains = "\tchain m_tcp_8080 {
\t\ttcp dport 8080 meta mark set 0x57001f90 comment \"web\"
\t}
\tchain p_tcp_9090 {
\t\ttcp dport 9090 ct mark set 0x53570002 dnat ip to numgen inc mod 1 map { 0 : 10.255.0.7 . 90 } comment \"edge\"
\t}
";
    let maps = lookups(
        "tcp . 9090 : jump p_tcp_9090",
        Some("tcp . 8080 : jump m_tcp_8080"),
        "",
    );
    let expected = format!(
        "{HEAD}{chains}{maps}{FWD}\tchain postrouting {{
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname \"swarm-ingress\" meta mark & 0xfffe0000 == 0x57000000 masquerade
{}",
        POST.split_once("accept;\n").unwrap().1
    );
    assert_eq!(render(&p, IngressMode::Fwmark), expected);
}

#[test]
fn fwmarks_are_stable_per_protocol_and_port() {
    assert_eq!(fwmark(PortProtocol::Tcp, 8080), 0x5700_1f90);
    assert_eq!(fwmark(PortProtocol::Udp, 8080), 0x5701_1f90);
    assert_ne!(fwmark(PortProtocol::Tcp, 1), fwmark(PortProtocol::Udp, 1));
}

#[test]
fn comments_drop_characters_nft_would_need_escaped() {
    let p = plan(vec![port(
        PortProtocol::Tcp,
        80,
        PublishMode::Ingress,
        "we\"b; drop",
        &["10.255.0.5:80"],
    )]);
    assert!(render(&p, IngressMode::Dnat).contains("comment \"webdrop\""));
}

#[test]
fn delete_transaction_is_idempotent_form() {
    assert_eq!(
        render_delete(),
        "table ip swarmd_mesh {}\ndelete table ip swarmd_mesh\n"
    );
}
