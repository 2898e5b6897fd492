use super::*;

/// Real `nft -j list table ip swarmd_mesh` output (nft 1.0.6) after loading the rendering of
/// web (ingress, 2 backends), edge (host, 1 backend), api (ingress, no backend).
const DNAT_SAMPLE: &str = include_str!("testdata/nft_dnat.json");
/// The same plan rendered for the IPVS backend (fwmark mode).
const FWMARK_SAMPLE: &str = include_str!("testdata/nft_fwmark.json");

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

#[test]
fn parses_dnat_maps_host_mode_and_rejects() {
    let services = parse_nft_json(DNAT_SAMPLE).unwrap();
    assert_eq!(
        services,
        vec![
            VirtualService {
                protocol: PortProtocol::Tcp,
                port: 8080,
                mode: PublishMode::Ingress,
                service_name: "web".into(),
                scheduler: "numgen-inc".into(),
                fwmark: None,
                backends: vec![sa("10.255.0.5:80"), sa("10.255.0.6:80")],
            },
            VirtualService {
                protocol: PortProtocol::Tcp,
                port: 8081,
                mode: PublishMode::Ingress,
                service_name: "api".into(),
                scheduler: "reject".into(),
                fwmark: None,
                backends: vec![],
            },
            VirtualService {
                protocol: PortProtocol::Tcp,
                port: 9090,
                mode: PublishMode::Host,
                service_name: "edge".into(),
                scheduler: "numgen-inc".into(),
                fwmark: None,
                backends: vec![sa("10.255.0.7:90")],
            },
        ]
    );
}

#[test]
fn parses_fwmarks_for_ipvs() {
    let services = parse_nft_json(FWMARK_SAMPLE).unwrap();
    let web = services.iter().find(|s| s.port == 8080).unwrap();
    assert_eq!(web.fwmark, Some(0x5700_1f90));
    assert!(web.backends.is_empty(), "IPVS holds the backends");
    let edge = services.iter().find(|s| s.port == 9090).unwrap();
    assert_eq!((edge.mode, edge.backends.len()), (PublishMode::Host, 1));
}

#[test]
fn parses_plain_dnat_to_addr_and_port() {
    let json = r#"{"nftables":[{"rule":{"family":"ip","table":"swarmd_mesh","chain":"p_udp_53","handle":6,
        "expr":[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":53}},
                {"dnat":{"addr":"10.255.0.7","port":5353}}]}}]}"#;
    let s = parse_nft_json(json).unwrap();
    assert_eq!(s[0].protocol, PortProtocol::Udp);
    assert_eq!(s[0].backends, vec![sa("10.255.0.7:5353")]);
}

#[test]
fn ignores_other_tables_and_rejects_garbage() {
    let json = r#"{"nftables":[{"rule":{"table":"other","chain":"prerouting","expr":[]}}]}"#;
    assert!(parse_nft_json(json).unwrap().is_empty());
    assert!(parse_nft_json("not json").is_err());
    assert!(parse_nft_json("{}").is_err());
}

#[test]
fn display_looks_like_ipvsadm() {
    let table = types::MeshTable {
        backend: types::MeshBackendKind::Nftables,
        services: parse_nft_json(DNAT_SAMPLE).unwrap(),
        raw: String::new(),
    };
    let text = table.to_string();
    assert!(
        text.contains("TCP  *:8080             numgen-inc ingress web"),
        "{text}"
    );
    assert!(text.contains("  -> 10.255.0.6:80"), "{text}");
}
