//! Networks: ours → docker's network (the same shape for `ls` and `inspect`, `Id` with a
//! lower-case d), and `POST /networks/create`'s body → our spec. swarmd's networks are swarm
//! scoped IPv4 overlays with one subnet; anything else docker can ask for is refused by name.

use api::objects as pb;
use bollard::models::{ConfigReference, Ipam, IpamConfig, NetworkCreateRequest, NetworkInspect};

use super::{default_only, stamps};
use crate::error::EngineError;

/// The only driver swarmd has.
pub const OVERLAY: &str = "overlay";

/// A network as `docker network ls/inspect` and `stack deploy` read it.
pub fn network(n: pb::Network) -> NetworkInspect {
    let spec = n.spec.unwrap_or_default();
    let ipam = IpamConfig {
        subnet: Some(spec.subnet).filter(|s| !s.is_empty()),
        gateway: Some(spec.gateway).filter(|g| !g.is_empty()),
        ip_range: None,
        auxiliary_addresses: None,
    };
    NetworkInspect {
        name: Some(spec.name),
        id: Some(n.id),
        created: stamps(n.meta.as_ref()).created_at,
        scope: Some("swarm".into()),
        driver: Some(if spec.driver.is_empty() {
            OVERLAY.into()
        } else {
            spec.driver
        }),
        enable_ipv4: Some(true),
        enable_ipv6: Some(false),
        ipam: Some(Ipam {
            driver: Some("default".into()),
            options: Some(Default::default()),
            config: Some(vec![ipam]),
        }),
        internal: Some(spec.internal),
        attachable: Some(spec.attachable),
        ingress: Some(spec.ingress),
        config_from: Some(ConfigReference {
            network: Some(String::new()),
        }),
        config_only: Some(false),
        options: Some(spec.options),
        labels: Some(spec.labels),
        peers: None,
        containers: Some(Default::default()),
        services: None,
        status: None,
    }
}

/// The spec for `docker network create` (and `stack deploy`'s networks). Subnet and gateway
/// left out are allocated by the control API.
pub fn network_spec(req: NetworkCreateRequest) -> Result<pb::NetworkSpec, EngineError> {
    let driver = req.driver.unwrap_or_default();
    if !driver.is_empty() && driver != OVERLAY {
        return Err(EngineError::bad_request(format!(
            "Driver: `{driver}` is not available; swarmd networks are swarm-wide overlays: use \
             `--driver overlay` (or leave the driver out)"
        )));
    }
    match req.scope.as_deref().unwrap_or_default() {
        "" | "swarm" => {}
        other => {
            return Err(EngineError::bad_request(format!(
                "Scope: `{other}` is not available; swarmd networks are swarm scoped: use \
                 `--scope swarm` (or leave the scope out)"
            )))
        }
    }
    if req.ingress == Some(true) {
        return Err(EngineError::bad_request(
            "Ingress: the cluster has its ingress network (`ingress`) already and swarmd keeps \
             it; create a user network without `--ingress`",
        ));
    }
    if req.enable_ipv4 == Some(false) {
        return Err(EngineError::bad_request(
            "EnableIPv4: swarmd networks are IPv4; leave IPv4 enabled",
        ));
    }
    default_only("EnableIPv6", &req.enable_ipv6)?;
    default_only("ConfigOnly", &req.config_only)?;
    if let Some(from) = &req.config_from {
        default_only("ConfigFrom.Network", &from.network)?;
    }
    let (subnet, gateway) = match req.ipam {
        Some(ipam) => ipam_in(ipam)?,
        None => (String::new(), String::new()),
    };
    Ok(pb::NetworkSpec {
        name: req.name,
        subnet,
        gateway,
        driver: OVERLAY.into(),
        internal: req.internal.unwrap_or_default(),
        attachable: req.attachable.unwrap_or_default(),
        labels: req.labels.unwrap_or_default(),
        options: req.options.unwrap_or_default(),
        ..Default::default()
    })
}

/// `IPAM`: the default driver and at most one IPv4 subnet with an optional gateway.
fn ipam_in(ipam: Ipam) -> Result<(String, String), EngineError> {
    match ipam.driver.as_deref().unwrap_or_default() {
        "" | "default" => {}
        other => {
            return Err(EngineError::bad_request(format!(
                "IPAM.Driver: `{other}` is not available; use the `default` IPAM driver"
            )))
        }
    }
    default_only("IPAM.Options", &ipam.options)?;
    let mut configs = ipam.config.unwrap_or_default();
    if configs.len() > 1 {
        return Err(EngineError::bad_request(format!(
            "IPAM.Config: {} subnets given; a swarmd network has one IPv4 subnet: give one \
             `--subnet` (or none to have one allocated)",
            configs.len()
        )));
    }
    let Some(config) = configs.pop() else {
        return Ok((String::new(), String::new()));
    };
    default_only("IPAM.Config[0].IPRange", &config.ip_range)?;
    default_only(
        "IPAM.Config[0].AuxiliaryAddresses",
        &config.auxiliary_addresses,
    )?;
    Ok((
        config.subnet.unwrap_or_default(),
        config.gateway.unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_network_reads_back_as_sent() {
        let sent = NetworkCreateRequest {
            name: "appnet".into(),
            driver: Some(OVERLAY.into()),
            attachable: Some(true),
            labels: Some([("a".to_string(), "b".to_string())].into()),
            ipam: Some(Ipam {
                driver: Some("default".into()),
                options: Some(Default::default()),
                config: Some(vec![IpamConfig {
                    subnet: Some("10.9.0.0/24".into()),
                    gateway: Some("10.9.0.1".into()),
                    ..Default::default()
                }]),
            }),
            ..Default::default()
        };
        let spec = network_spec(sent.clone()).unwrap();
        let shown = network(pb::Network {
            id: "n1".into(),
            meta: None,
            spec: Some(spec),
        });
        assert_eq!(shown.name.as_deref(), Some("appnet"));
        assert_eq!(shown.attachable, Some(true));
        assert_eq!(shown.labels, sent.labels);
        assert_eq!(shown.ipam.unwrap().config, sent.ipam.unwrap().config);
    }

    #[test]
    fn what_swarmd_lacks_is_refused_by_name() {
        let with = |f: fn(&mut NetworkCreateRequest)| {
            let mut r = NetworkCreateRequest {
                name: "n".into(),
                ..Default::default()
            };
            f(&mut r);
            network_spec(r).unwrap_err().message().to_string()
        };
        assert!(with(|r| r.driver = Some("bridge".into())).starts_with("Driver: `bridge`"));
        assert!(with(|r| r.scope = Some("local".into())).starts_with("Scope: `local`"));
        assert!(with(|r| r.ingress = Some(true)).starts_with("Ingress:"));
        assert!(with(|r| r.enable_ipv6 = Some(true)).starts_with("EnableIPv6:"));
        assert!(with(|r| r.ipam = Some(Ipam {
            config: Some(vec![IpamConfig::default(), IpamConfig::default()]),
            ..Default::default()
        }))
        .starts_with("IPAM.Config: 2 subnets"));
    }
}
