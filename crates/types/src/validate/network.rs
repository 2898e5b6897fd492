//! A network spec as `network create` sends it, and a service's networks, each on its own:
//! overlaps with other networks and names that must exist are the control API's to check.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{fail, validate_dns_label, validate_labels, ValidationError};
use crate::network::{NetworkSpec, INGRESS_NAME, OVERLAY_DRIVER};
use crate::service::{EndpointMode, PublishMode, ServiceSpec};

/// Docker's rule for network names: a letter or digit, then letters, digits, `_`, `.`, `-`.
fn validate_network_name(name: &str) -> Result<(), ValidationError> {
    const FIELD: &str = "spec.name";
    let mut chars = name.chars();
    match chars.next() {
        None => return fail(FIELD, "the name is empty; name the network, e.g. `backend`"),
        Some(c) if !c.is_ascii_alphanumeric() => {
            return fail(
                FIELD,
                format!("`{name}` starts with {c:?}; begin with a letter or digit"),
            )
        }
        Some(_) => {}
    }
    if let Some(c) = chars.find(|c| !c.is_ascii_alphanumeric() && !"_.-".contains(*c)) {
        return fail(
            FIELD,
            format!("`{name}` contains {c:?}; use only letters, digits, `_`, `.` and `-`"),
        );
    }
    if name.len() > 128 {
        return fail(
            FIELD,
            format!("`{name}` is too long; use at most 128 characters"),
        );
    }
    if name == INGRESS_NAME {
        return fail(
            FIELD,
            "`ingress` is the routing mesh's network and exists already; choose another name",
        );
    }
    Ok(())
}

/// An IPv4 CIDR in its canonical form (`10.0.9.0/24`, not `10.0.9.7/24`).
pub fn parse_subnet(field: &str, subnet: &str) -> Result<Ipv4Net, ValidationError> {
    let net: Ipv4Net = subnet.parse().map_err(|_| ValidationError {
        field: field.into(),
        message: format!("`{subnet}` is not an IPv4 CIDR; write it as e.g. 10.0.9.0/24"),
    })?;
    if net.trunc() != net {
        return Err(ValidationError {
            field: field.into(),
            message: format!(
                "`{subnet}` has host bits set; did you mean {}?",
                net.trunc()
            ),
        });
    }
    if net.prefix_len() > 29 {
        return Err(ValidationError {
            field: field.into(),
            message: format!("`{subnet}` holds too few addresses; use a /29 or larger"),
        });
    }
    Ok(net)
}

/// Checks what a user may ask of a new network.
pub fn validate_network_spec(spec: &NetworkSpec) -> Result<(), ValidationError> {
    validate_network_name(&spec.name)?;
    if spec.driver != OVERLAY_DRIVER {
        return fail(
            "spec.driver",
            format!(
                "driver `{}` is not available; swarm networks use `--driver overlay`",
                spec.driver
            ),
        );
    }
    validate_labels("spec.labels", spec.labels.keys())?;
    validate_labels("spec.options", spec.options.keys())?;
    if spec.subnet.is_empty() {
        if !spec.gateway.is_empty() {
            return fail(
                "spec.gateway",
                "a gateway needs its subnet; give `--subnet` too, or leave both to be allocated",
            );
        }
        return Ok(());
    }
    let net = parse_subnet("spec.subnet", &spec.subnet)?;
    if spec.gateway.is_empty() {
        return Ok(());
    }
    let gw: Ipv4Addr = spec.gateway.parse().map_err(|_| ValidationError {
        field: "spec.gateway".into(),
        message: format!("`{}` is not an IPv4 address", spec.gateway),
    })?;
    if !net.contains(&gw) || gw == net.network() || gw == net.broadcast() {
        return fail(
            "spec.gateway",
            format!(
                "{gw} is not a host address of {net}; pick one inside it, e.g. {}",
                Ipv4Addr::from(u32::from(net.network()) + 1)
            ),
        );
    }
    Ok(())
}

/// A service's networks: each named once, aliases usable as DNS names, and no ingress-mode
/// port in dnsrr mode (there is no virtual IP for the routing mesh to send to).
pub(super) fn validate_service_networks(spec: &ServiceSpec) -> Result<(), ValidationError> {
    let mut seen = BTreeSet::new();
    for (i, n) in spec.task.networks.iter().enumerate() {
        let field = format!("spec.task.networks[{i}]");
        if n.target.is_empty() {
            return fail(
                format!("{field}.target"),
                "the network is empty; name one, e.g. `--network backend`",
            );
        }
        if n.target == INGRESS_NAME {
            return fail(
                format!("{field}.target"),
                "services join `ingress` by publishing a port (`--publish`), not with `--network`",
            );
        }
        if !seen.insert(n.target.as_str()) {
            return fail(
                format!("{field}.target"),
                format!("network `{}` is given twice; attach it once", n.target),
            );
        }
        for (j, alias) in n.aliases.iter().enumerate() {
            validate_dns_label(
                &format!("{field}.aliases[{j}]"),
                alias,
                "write `--network name=NET,alias=NAME`",
            )?;
        }
    }
    let ingress_port = spec
        .endpoint
        .ports
        .iter()
        .position(|p| p.publish_mode == PublishMode::Ingress);
    if let (EndpointMode::Dnsrr, Some(i)) = (spec.endpoint.mode, ingress_port) {
        return fail(
            format!("spec.endpoint.ports[{i}].publish_mode"),
            "a port published in ingress mode needs a virtual IP: use `--endpoint-mode vip`, or publish with `mode=host`",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::NetworkTarget;
    use crate::service::PortConfig;

    fn spec(f: impl FnOnce(&mut NetworkSpec)) -> Result<(), ValidationError> {
        let mut s = NetworkSpec::overlay("backend");
        f(&mut s);
        validate_network_spec(&s)
    }

    fn field_of(r: Result<(), ValidationError>) -> String {
        r.expect_err("refused").field
    }

    #[test]
    fn a_plain_overlay_and_one_with_subnet_and_gateway_are_accepted() {
        spec(|_| {}).unwrap();
        spec(|s| {
            s.subnet = "10.0.9.0/24".into();
            s.gateway = "10.0.9.254".into();
            s.name = "my_net.v2-a".into();
        })
        .unwrap();
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field_of(spec(|s| s.name = "-x".into())), "spec.name");
        assert_eq!(field_of(spec(|s| s.name = "a b".into())), "spec.name");
        assert_eq!(field_of(spec(|s| s.name = String::new())), "spec.name");
        assert_eq!(field_of(spec(|s| s.name = "ingress".into())), "spec.name");
        assert_eq!(
            field_of(spec(|s| s.driver = "bridge".into())),
            "spec.driver"
        );
        for bad in [
            "10.0.9.0",
            "10.0.9.0/33",
            "10.0.9.7/24",
            "fd00::/64",
            "10.0.9.0/30",
        ] {
            assert_eq!(
                field_of(spec(|s| s.subnet = bad.into())),
                "spec.subnet",
                "{bad}"
            );
        }
        for bad in ["10.0.8.1", "10.0.9.0", "10.0.9.255", "x"] {
            let r = spec(|s| {
                s.subnet = "10.0.9.0/24".into();
                s.gateway = bad.into();
            });
            assert_eq!(field_of(r), "spec.gateway", "{bad}");
        }
        assert_eq!(
            field_of(spec(|s| s.gateway = "10.0.9.1".into())),
            "spec.gateway"
        );
        let mut with_label = NetworkSpec::overlay("n");
        with_label.labels.insert(" ".into(), "v".into());
        assert_eq!(field_of(validate_network_spec(&with_label)), "spec.labels");
    }

    fn service(f: impl FnOnce(&mut ServiceSpec)) -> Result<(), ValidationError> {
        let mut s = ServiceSpec {
            name: "api".into(),
            ..Default::default()
        };
        s.task.container.image = "busybox".into();
        f(&mut s);
        super::super::validate_service_spec(&s)
    }

    fn target(name: &str, aliases: &[&str]) -> NetworkTarget {
        NetworkTarget {
            target: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn service_networks_are_checked_one_by_one() {
        service(|s| s.task.networks = vec![target("a", &["db"]), target("b", &[])]).unwrap();
        let twice = service(|s| s.task.networks = vec![target("a", &[]), target("a", &[])]);
        assert_eq!(field_of(twice), "spec.task.networks[1].target");
        let ingress = service(|s| s.task.networks = vec![target("ingress", &[])]);
        assert_eq!(field_of(ingress), "spec.task.networks[0].target");
        let alias = service(|s| s.task.networks = vec![target("a", &["x", "no_good"])]);
        assert_eq!(field_of(alias), "spec.task.networks[0].aliases[1]");
    }

    #[test]
    fn dnsrr_refuses_ingress_ports_but_not_host_ports() {
        let port = |mode, published| PortConfig {
            target_port: 80,
            published_port: published,
            publish_mode: mode,
            ..Default::default()
        };
        let r = service(|s| {
            s.endpoint.mode = EndpointMode::Dnsrr;
            s.endpoint.ports = vec![
                port(PublishMode::Host, 8080),
                port(PublishMode::Ingress, 8081),
            ];
        });
        assert_eq!(field_of(r), "spec.endpoint.ports[1].publish_mode");
        service(|s| {
            s.endpoint.mode = EndpointMode::Dnsrr;
            s.endpoint.ports = vec![port(PublishMode::Host, 8080)];
        })
        .unwrap();
    }
}
