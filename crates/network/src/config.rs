//! What a node's data plane needs to know about itself; everything else comes from the
//! leader's `NetworkView`.

use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;

use crate::error::DataplaneError;

/// `swarmd --mesh-backend auto|ipvs|nftables`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MeshChoice {
    /// IPVS when the generic-netlink family "IPVS" resolves, else nftables.
    #[default]
    Auto,
    Ipvs,
    Nftables,
}

impl FromStr for MeshChoice {
    type Err = DataplaneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(MeshChoice::Auto),
            "ipvs" => Ok(MeshChoice::Ipvs),
            "nftables" => Ok(MeshChoice::Nftables),
            other => Err(DataplaneError::InvalidInput(format!(
                "mesh backend `{other}`: expected auto, ipvs or nftables"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataplaneConfig {
    /// This node's ID: tells our own tasks and peer entry apart from remote ones in the view.
    pub node_id: String,
    /// Advertise address: VXLAN packets leave from (and peers send to) this IP.
    pub underlay_addr: Ipv4Addr,
    /// Underlay device for the VXLAN socket; `None` lets the kernel route by `underlay_addr`.
    pub underlay_dev: Option<String>,
    /// Name of the ingress bridge; configurable so tests can tell nodes apart in listings.
    pub bridge_name: String,
    /// Prefix of the VXLAN device's name, completed with the VNI (`swarm-vx4096`).
    pub vxlan_prefix: String,
    /// Prefix of a user network's bridge, completed with its VNI (`swarm-br4097`). Bridges
    /// with it and an unwanted VNI are removed, also those left by an earlier process.
    pub user_bridge_prefix: String,
    /// Prefix of host-side veth names, completed with the task ID's first characters.
    pub veth_prefix: String,
    pub mesh_backend: MeshChoice,
    /// The gateway bridge (Docker's `docker_gwbridge`): egress of tasks not on ingress.
    pub gateway_bridge: String,
    /// Its node-local subnet; the node holds the first address.
    pub gateway_subnet: Ipv4Net,
}

/// Docker's first pick for `docker_gwbridge`.
pub const DEFAULT_GATEWAY_SUBNET: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(172, 18, 0, 0), 16) {
    Ok(n) => n,
    Err(_) => panic!("a /16 is a valid prefix"),
};

impl DataplaneConfig {
    pub fn new(node_id: impl Into<String>, underlay_addr: Ipv4Addr) -> DataplaneConfig {
        DataplaneConfig {
            node_id: node_id.into(),
            underlay_addr,
            underlay_dev: None,
            bridge_name: "swarm-ingress".to_string(),
            vxlan_prefix: "swarm-vx".to_string(),
            user_bridge_prefix: "swarm-br".to_string(),
            veth_prefix: "vt".to_string(),
            mesh_backend: MeshChoice::Auto,
            gateway_bridge: "swarm-gw".to_string(),
            gateway_subnet: DEFAULT_GATEWAY_SUBNET,
        }
    }

    pub fn vxlan_name(&self, vni: u32) -> String {
        format!("{}{}", self.vxlan_prefix, vni)
    }

    pub fn user_bridge_name(&self, vni: u32) -> String {
        format!("{}{}", self.user_bridge_prefix, vni)
    }

    pub fn validate(&self) -> Result<(), DataplaneError> {
        let bad = |m: String| Err(DataplaneError::InvalidInput(m));
        if self.node_id.is_empty() {
            return bad("node_id is empty".into());
        }
        if self.underlay_addr.is_unspecified() || self.underlay_addr.is_loopback() {
            return bad(format!(
                "underlay address {} cannot carry VXLAN to other nodes",
                self.underlay_addr
            ));
        }
        // IFNAMSIZ is 16 including the NUL: an 8-byte prefix leaves room for a 7-digit VNI.
        if self.bridge_name.is_empty() || self.bridge_name.len() > 15 {
            return bad(format!(
                "bridge name `{}` must be 1-15 bytes",
                self.bridge_name
            ));
        }
        if self.vxlan_prefix.is_empty() || self.vxlan_prefix.len() > 8 {
            return bad(format!(
                "vxlan prefix `{}` must be 1-8 bytes",
                self.vxlan_prefix
            ));
        }
        if self.user_bridge_prefix.is_empty()
            || self.user_bridge_prefix.len() > 8
            || self.user_bridge_prefix == self.vxlan_prefix
        {
            return bad(format!(
                "user bridge prefix `{}` must be 1-8 bytes and differ from the vxlan prefix",
                self.user_bridge_prefix
            ));
        }
        if self.veth_prefix.is_empty() || self.veth_prefix.len() > 3 {
            return bad(format!(
                "veth prefix `{}` must be 1-3 bytes",
                self.veth_prefix
            ));
        }
        if self.gateway_bridge.is_empty()
            || self.gateway_bridge.len() > 15
            || self.gateway_bridge == self.bridge_name
        {
            return bad(format!(
                "gateway bridge name `{}` must be 1-15 bytes and differ from the ingress bridge's",
                self.gateway_bridge
            ));
        }
        if self.gateway_subnet.prefix_len() > 28 {
            return bad(format!(
                "--gateway-subnet {}: at most a /28 (the node takes one address, tasks the rest)",
                self.gateway_subnet
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_named_like_docker() {
        let c = DataplaneConfig::new("n1", Ipv4Addr::new(192, 168, 77, 1));
        c.validate().unwrap();
        assert_eq!(c.vxlan_name(4096), "swarm-vx4096");
        assert_eq!(c.user_bridge_name(4097), "swarm-br4097");
        assert_eq!(c.gateway_bridge, "swarm-gw");
        assert_eq!(c.gateway_subnet.to_string(), "172.18.0.0/16");
    }

    #[test]
    fn rejects_loopback_underlay_and_long_names() {
        let mut c = DataplaneConfig::new("n1", Ipv4Addr::LOCALHOST);
        assert!(c.validate().is_err());
        c.underlay_addr = Ipv4Addr::new(10, 0, 0, 1);
        c.bridge_name = "a-very-long-bridge-name".into();
        assert!(c.validate().is_err());
        c.bridge_name = "swarm-ingress".into();
        c.gateway_subnet = "172.18.0.0/29".parse().unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("--gateway-subnet 172.18.0.0/29"), "{e}");
        c.gateway_subnet = "172.18.0.0/28".parse().unwrap();
        c.gateway_bridge = c.bridge_name.clone();
        assert!(c.validate().is_err());
    }

    #[test]
    fn parses_backend_flag() {
        assert_eq!("ipvs".parse::<MeshChoice>().unwrap(), MeshChoice::Ipvs);
        assert!("iptables".parse::<MeshChoice>().is_err());
    }
}
