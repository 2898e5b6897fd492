use super::*;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

#[test]
fn a_task_gets_the_gateway_only_without_ingress_and_with_a_way_out() {
    // (on ingress, host-mode ports, its networks' internal flags) → gateway?
    let table: &[(bool, bool, &[bool], bool)] = &[
        (true, false, &[], false),
        (true, true, &[false], false),
        (false, false, &[], true),
        (false, false, &[false], true),
        (false, false, &[true, false], true),
        (false, false, &[true], false),
        (false, false, &[true, true], false),
        (false, true, &[true], true),
    ];
    for &(ingress, host, internal, want) in table {
        assert_eq!(
            needs_gateway(ingress, host, internal),
            want,
            "ingress {ingress}, host ports {host}, internal {internal:?}"
        );
    }
}

#[test]
fn host_macs_encode_the_address_and_never_equal_the_tasks_own() {
    let a = Ipv4Addr::new(172, 18, 3, 7);
    assert_eq!(host_mac(a).to_string(), "06:42:ac:12:03:07");
    assert_eq!(addr_of_host_mac(host_mac(a)), Some(a));
    assert_ne!(host_mac(a), MacAddr::from_ipv4(a));
    assert_eq!(addr_of_host_mac(MacAddr::from_ipv4(a)), None);
    assert_eq!(addr_of_host_mac(MacAddr([0xaa, 0, 0, 0, 0, 1])), None);
}

#[test]
fn the_pool_gives_the_lowest_free_address_and_never_the_nodes() {
    let mut p = GatewayPool::new(net("172.18.0.0/29"));
    assert_eq!(p.gateway(), Ipv4Addr::new(172, 18, 0, 1));
    assert!(!p.mark(Ipv4Addr::new(172, 18, 0, 1)), "the node's address");
    assert!(!p.mark(Ipv4Addr::new(10, 0, 0, 3)), "outside the subnet");
    assert!(
        p.mark(Ipv4Addr::new(172, 18, 0, 3)),
        "found in use at start"
    );
    let got: Vec<_> = std::iter::from_fn(|| p.allocate()).collect();
    assert_eq!(
        got,
        [2, 4, 5, 6].map(|h| Ipv4Addr::new(172, 18, 0, h)),
        "hosts .2-.6 but .3, in order; none left after"
    );
    p.release(Ipv4Addr::new(172, 18, 0, 5));
    assert_eq!(p.allocate(), Some(Ipv4Addr::new(172, 18, 0, 5)));
}

#[test]
fn the_table_isolates_the_bridge_and_masquerades_egress() {
    let s = ruleset("swarm-gw", net("172.18.0.0/16"));
    assert!(s.starts_with("table ip swarmd_gw {}\ndelete table ip swarmd_gw\n"));
    for rule in [
        "iifname \"swarm-gw\" oifname \"swarm-gw\" drop",
        "oifname \"swarm-gw\" ct state established,related accept",
        "oifname \"swarm-gw\" ct status dnat accept",
        "\t\toifname \"swarm-gw\" drop",
        "oifname != \"swarm-gw\" ip saddr 172.18.0.0/16 masquerade",
    ] {
        assert!(s.contains(rule), "missing `{rule}` in\n{s}");
    }
    // The hairpin drop must come before the accepts, the final drop after them.
    let at = |r: &str| s.find(r).unwrap();
    assert!(at("iifname \"swarm-gw\" oifname") < at("ct state established"));
    assert!(at("ct status dnat accept") < at("\t\toifname \"swarm-gw\" drop"));
}

#[test]
fn a_subnet_the_node_uses_elsewhere_is_refused() {
    let subnet = net("172.18.0.0/16");
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let addrs = [
        (1, ip("127.0.0.1")),
        (7, ip("172.18.0.1")),
        (9, ip("10.0.0.5")),
    ];
    assert_eq!(clash(subnet, None, &addrs), Some(ip("172.18.0.1")));
    assert_eq!(
        clash(subnet, Some(7), &addrs),
        None,
        "our own bridge's address"
    );
    assert_eq!(clash(net("172.19.0.0/16"), None, &addrs), None);
}
