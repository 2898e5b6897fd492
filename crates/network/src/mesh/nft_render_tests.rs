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

#[test]
fn empty_plan_keeps_only_task_egress_and_masquerade() {
    let expected = format!(
        "table ip swarmd_mesh {{}}
delete table ip swarmd_mesh
table ip swarmd_mesh {{
\tchain prerouting {{
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t}}
\tchain output {{
\t\ttype nat hook output priority -100; policy accept;
\t}}
\tchain input {{
\t\ttype filter hook input priority filter; policy accept;
\t}}
{FWD}{POST}"
    );
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
    let nat = "\t\tfib daddr type local tcp dport 8080 ct mark set 0x53570001 dnat ip to numgen inc mod 2 map { 0 : 10.255.0.5 . 80, 1 : 10.255.0.6 . 80 } comment \"web\"
\t\tfib daddr type local tcp dport 9090 ct mark set 0x53570002 dnat ip to numgen inc mod 1 map { 0 : 10.255.0.7 . 90 } comment \"edge\"
";
    let expected = format!(
        "table ip swarmd_mesh {{}}
delete table ip swarmd_mesh
table ip swarmd_mesh {{
\tchain prerouting {{
\t\ttype nat hook prerouting priority dstnat; policy accept;
{nat}\t}}
\tchain output {{
\t\ttype nat hook output priority -100; policy accept;
{nat}\t}}
\tchain input {{
\t\ttype filter hook input priority filter; policy accept;
\t\tfib daddr type local tcp dport 8081 reject with tcp reset comment \"api\"
\t\tfib daddr type local udp dport 5353 reject comment \"dns\"
\t}}
{FWD}{POST}"
    );
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
    let nat = "\t\tfib daddr type local tcp dport 9090 ct mark set 0x53570002 dnat ip to numgen inc mod 1 map { 0 : 10.255.0.7 . 90 } comment \"edge\"\n";
    let mark = "\t\tfib daddr type local tcp dport 8080 meta mark set 0x57001f90 comment \"web\"\n";
    let expected = format!(
        "table ip swarmd_mesh {{}}
delete table ip swarmd_mesh
table ip swarmd_mesh {{
\tchain prerouting {{
\t\ttype nat hook prerouting priority dstnat; policy accept;
{nat}\t}}
\tchain output {{
\t\ttype nat hook output priority -100; policy accept;
{nat}\t}}
\tchain mark_prerouting {{
\t\ttype filter hook prerouting priority mangle; policy accept;
{mark}\t}}
\tchain mark_output {{
\t\ttype route hook output priority mangle; policy accept;
{mark}\t}}
\tchain input {{
\t\ttype filter hook input priority filter; policy accept;
\t}}
{FWD}\tchain postrouting {{
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
