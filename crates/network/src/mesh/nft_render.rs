//! Renders the mesh plan as one `nft -f` transaction that replaces the table `ip swarmd_mesh`
//! atomically ("add; delete; define" reloads repeatably, unlike `flush table`, which keeps
//! map elements). Pure: the exact text is table-tested.

use std::collections::BTreeMap;
use std::fmt::Write;

use ipnet::Ipv4Net;

use types::{PortProtocol, PublishMode};

use crate::plan::{MeshPlan, MeshPort};

/// The one nftables table swarmd owns on a node.
pub const TABLE: &str = "swarmd_mesh";

/// Conntrack mark of connections DNAT'ed by the routing mesh: they are masqueraded so the
/// backend replies through the node that received the request.
pub const CT_MARK_INGRESS: u32 = 0x5357_0001;
/// Conntrack mark of host-mode connections: never masqueraded (the task sees the client's IP),
/// except when they originate from the node's own loopback.
pub const CT_MARK_HOST: u32 = 0x5357_0002;

/// Packet marks handed to IPVS fwmark services: base | udp bit | port, stable per port so a
/// change to one service never renumbers another.
pub const FWMARK_BASE: u32 = 0x5700_0000;
const FWMARK_UDP_BIT: u32 = 0x0001_0000;
const FWMARK_MASK: u32 = 0xfffe_0000;

/// How ingress-published ports are balanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngressMode {
    /// nftables does the balancing: `dnat to numgen inc mod N map {…}`.
    Dnat,
    /// nftables only marks; IPVS fwmark services balance.
    Fwmark,
}

/// The fwmark IPVS uses for a published port.
pub fn fwmark(protocol: PortProtocol, port: u16) -> u32 {
    let udp = match protocol {
        PortProtocol::Tcp => 0,
        PortProtocol::Udp => FWMARK_UDP_BIT,
    };
    FWMARK_BASE | udp | u32::from(port)
}

/// What the chain of a published port does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortAction {
    /// nftables balances: DNAT to a backend chosen by `numgen inc`.
    Dnat,
    /// IPVS balances: nftables only marks the packets.
    Mark,
    /// No backend: refuse at once rather than let the client time out.
    Reject,
}

impl PortAction {
    fn chain_prefix(self) -> &'static str {
        match self {
            PortAction::Dnat => "p",
            PortAction::Mark => "m",
            PortAction::Reject => "r",
        }
    }

    /// The verdict map whose elements send a port's packets to its chain.
    pub fn map(self) -> &'static str {
        match self {
            PortAction::Dnat => "dnat_ports",
            PortAction::Mark => "mark_ports",
            PortAction::Reject => "closed_ports",
        }
    }
}

/// A published port as nftables programs it: a chain of its own holding one rule, reached
/// through the verdict map of its action. One port can so be changed without touching the
/// others (see [`crate::mesh::nft_delta`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortChain {
    pub protocol: PortProtocol,
    pub port: u16,
    pub action: PortAction,
    pub rule: String,
}

impl PortChain {
    pub fn name(&self) -> String {
        format!(
            "{}_{}_{}",
            self.action.chain_prefix(),
            self.protocol.as_str(),
            self.port
        )
    }

    /// The port's key in its verdict map.
    pub fn key(&self) -> String {
        format!("{} . {}", self.protocol.as_str(), self.port)
    }
}

/// Everything the table holds, as data: compared with what was loaded to send the kernel only
/// the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    pub mode: IngressMode,
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub ports: BTreeMap<(PortProtocol, u16), PortChain>,
}

pub fn ruleset(plan: &MeshPlan, mode: IngressMode) -> Ruleset {
    let ports = plan
        .ports
        .iter()
        .map(|p| ((p.protocol, p.published), port_chain(p, mode)))
        .collect();
    Ruleset {
        mode,
        bridge: plan.bridge.clone(),
        subnet: plan.subnet,
        ports,
    }
}

fn port_chain(port: &MeshPort, mode: IngressMode) -> PortChain {
    let matcher = format!("{} dport {}", port.protocol.as_str(), port.published);
    let comment = comment(&port.service_name);
    let (action, rule) = if port.backends.is_empty() {
        let reject = match port.protocol {
            PortProtocol::Tcp => "reject with tcp reset",
            PortProtocol::Udp => "reject",
        };
        (PortAction::Reject, format!("{matcher} {reject}{comment}"))
    } else if port.mode == PublishMode::Ingress && mode == IngressMode::Fwmark {
        let mark = fwmark(port.protocol, port.published);
        (
            PortAction::Mark,
            format!("{matcher} meta mark set {mark:#010x}{comment}"),
        )
    } else {
        let ct = match port.mode {
            PublishMode::Ingress => CT_MARK_INGRESS,
            PublishMode::Host => CT_MARK_HOST,
        };
        (
            PortAction::Dnat,
            format!(
                "{matcher} ct mark set {ct:#010x} {}{comment}",
                dnat_map(port)
            ),
        )
    };
    PortChain {
        protocol: port.protocol,
        port: port.published,
        action,
        rule,
    }
}

/// The full transaction text for `nft -f -`.
pub fn render(plan: &MeshPlan, mode: IngressMode) -> String {
    render_full(&ruleset(plan, mode))
}

/// The transaction that replaces the whole table with `r`.
pub fn render_full(r: &Ruleset) -> String {
    let mut out = String::new();
    writeln!(out, "table ip {TABLE} {{}}").unwrap();
    writeln!(out, "delete table ip {TABLE}").unwrap();
    writeln!(out, "table ip {TABLE} {{").unwrap();
    // Port chains first: the maps' elements jump to them.
    for p in r.ports.values() {
        writeln!(out, "\tchain {} {{\n\t\t{}\n\t}}", p.name(), p.rule).unwrap();
    }
    let mut actions = vec![PortAction::Dnat, PortAction::Reject];
    if r.mode == IngressMode::Fwmark {
        actions.insert(1, PortAction::Mark);
    }
    for action in actions {
        let elements: Vec<String> = r
            .ports
            .values()
            .filter(|p| p.action == action)
            .map(|p| format!("{} : jump {}", p.key(), p.name()))
            .collect();
        writeln!(out, "\tmap {} {{", action.map()).unwrap();
        writeln!(out, "\t\ttype inet_proto . inet_service : verdict").unwrap();
        if !elements.is_empty() {
            writeln!(out, "\t\telements = {{ {} }}", elements.join(", ")).unwrap();
        }
        writeln!(out, "\t}}").unwrap();
    }
    let lookup = |action: PortAction| {
        format!(
            "\t\tfib daddr type local meta l4proto . th dport vmap @{}\n",
            action.map()
        )
    };
    let nat = lookup(PortAction::Dnat);
    chain(
        &mut out,
        "prerouting",
        "type nat hook prerouting priority dstnat",
        &nat,
    );
    // Locally originated traffic (curl localhost:P on the node) only meets the output hook.
    chain(
        &mut out,
        "output",
        "type nat hook output priority -100",
        &nat,
    );
    if r.mode == IngressMode::Fwmark {
        let marks = lookup(PortAction::Mark);
        chain(
            &mut out,
            "mark_prerouting",
            "type filter hook prerouting priority mangle",
            &marks,
        );
        // `type route` so the kernel re-routes a packet whose mark changed.
        chain(
            &mut out,
            "mark_output",
            "type route hook output priority mangle",
            &marks,
        );
    }
    chain(
        &mut out,
        "input",
        "type filter hook input priority filter",
        &lookup(PortAction::Reject),
    );
    static_chains(&mut out, r);
    writeln!(out, "}}").unwrap();
    out
}

/// The chains that depend only on the bridge, the subnet and the mode.
fn static_chains(out: &mut String, r: &Ruleset) {
    let bridge = &r.bridge;
    let subnet = r.subnet;
    // The node forwards packets (the mesh needs it), so without a filter a LAN host routing
    // the ingress subnet via a node would reach any task, published or not. Into the bridge
    // from elsewhere only mesh (DNAT'ed) traffic and replies to tasks' own connections pass.
    let mut fwd = String::new();
    writeln!(
        fwd,
        "\t\toifname \"{bridge}\" iifname != \"{bridge}\" ct state established,related accept"
    )
    .unwrap();
    writeln!(
        fwd,
        "\t\toifname \"{bridge}\" iifname != \"{bridge}\" ct status dnat accept"
    )
    .unwrap();
    writeln!(fwd, "\t\toifname \"{bridge}\" iifname != \"{bridge}\" drop").unwrap();
    chain(
        out,
        "forward",
        "type filter hook forward priority filter",
        &fwd,
    );
    let mut post = String::new();
    if r.mode == IngressMode::Fwmark {
        writeln!(
            post,
            "\t\toifname \"{bridge}\" meta mark & {FWMARK_MASK:#010x} == {FWMARK_BASE:#010x} masquerade"
        )
        .unwrap();
    }
    writeln!(
        post,
        "\t\toifname \"{bridge}\" ct mark {CT_MARK_INGRESS:#010x} masquerade"
    )
    .unwrap();
    // 127.0.0.1 cannot be a source on the bridge: localhost:P must be masqueraded in any mode.
    writeln!(
        post,
        "\t\toifname \"{bridge}\" ip saddr 127.0.0.0/8 ct status dnat masquerade"
    )
    .unwrap();
    // Tasks' own egress leaves with the node's address, like Docker's bridge networks.
    writeln!(
        post,
        "\t\toifname != \"{bridge}\" ip saddr {subnet} masquerade"
    )
    .unwrap();
    chain(
        out,
        "postrouting",
        "type nat hook postrouting priority srcnat",
        &post,
    );
}

/// The transaction that removes the table (teardown); succeeds whether or not it exists.
pub fn render_delete() -> String {
    format!("table ip {TABLE} {{}}\ndelete table ip {TABLE}\n")
}

fn chain(out: &mut String, name: &str, hook: &str, rules: &str) {
    writeln!(out, "\tchain {name} {{").unwrap();
    writeln!(out, "\t\t{hook}; policy accept;").unwrap();
    out.push_str(rules);
    writeln!(out, "\t}}").unwrap();
}

fn dnat_map(port: &MeshPort) -> String {
    let elements: Vec<String> = port
        .backends
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{i} : {} . {}", b.ip(), b.port()))
        .collect();
    format!(
        "dnat ip to numgen inc mod {} map {{ {} }}",
        port.backends.len(),
        elements.join(", ")
    )
}

/// Service names label rules so the kernel read-back can name them; only characters that
/// need no quoting rules in nft are kept.
fn comment(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(100)
        .collect();
    if clean.is_empty() {
        String::new()
    } else {
        format!(" comment \"{clean}\"")
    }
}

#[cfg(test)]
#[path = "nft_render_tests.rs"]
mod tests;
