//! Networks: the ingress overlay that carries the routing mesh, and the user overlay networks
//! services attach to; a service's place on them (targets, aliases, virtual IPs).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::Meta;

pub const INGRESS_NAME: &str = "ingress";
pub const DEFAULT_INGRESS_SUBNET: &str = "10.255.0.0/16";
pub const DEFAULT_INGRESS_VNI: u32 = 4096;
pub const DEFAULT_VXLAN_PORT: u32 = 4789;
pub const DEFAULT_OVERLAY_MTU: u32 = 1450;
/// The only driver: every network spans the cluster.
pub const OVERLAY_DRIVER: &str = "overlay";
/// Where user networks' subnets come from unless the cluster was created with another pool,
/// as Docker's swarm (`--default-addr-pool`).
pub const DEFAULT_ADDR_POOL: &str = "10.0.0.0/8";
/// The prefix length of those subnets (`--default-addr-pool-mask-len`).
pub const DEFAULT_ADDR_POOL_MASK_LEN: u32 = 24;
/// User networks get VNIs from here up (ingress has 4096).
pub const FIRST_USER_VNI: u32 = DEFAULT_INGRESS_VNI + 1;
/// Where a container on a user network asks its names, inside its own namespace (Docker's
/// embedded DNS address): the node serves it there, and the engine writes it in resolv.conf.
pub const RESOLVER_ADDR: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 11);
/// The highest 24-bit VXLAN network identifier.
pub const MAX_VNI: u32 = (1 << 24) - 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub name: String,
    pub ingress: bool,
    /// CIDR, e.g. `10.255.0.0/16`.
    pub subnet: String,
    pub gateway: String,
    pub vni: u32,
    pub mtu: u32,
    pub vxlan_port: u32,
    /// Always [`OVERLAY_DRIVER`] once stored.
    #[serde(default = "overlay_driver")]
    pub driver: String,
    /// No traffic leaves the cluster from this network.
    #[serde(default)]
    pub internal: bool,
    /// Stored for `docker network create --attachable`; standalone containers are not run.
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Driver options (`--opt`), stored as given.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

fn overlay_driver() -> String {
    OVERLAY_DRIVER.to_string()
}

impl NetworkSpec {
    /// The ingress network with the defaults of Docker's (`10.255.0.0/16`, VNI 4096).
    pub fn ingress(subnet: &str) -> NetworkSpec {
        NetworkSpec {
            name: INGRESS_NAME.to_string(),
            ingress: true,
            subnet: subnet.to_string(),
            gateway: String::new(),
            vni: DEFAULT_INGRESS_VNI,
            mtu: DEFAULT_OVERLAY_MTU,
            vxlan_port: DEFAULT_VXLAN_PORT,
            driver: overlay_driver(),
            internal: false,
            attachable: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
        }
    }

    /// A user overlay network as `network create NAME` asks for it: subnet, gateway and VNI
    /// left for the control API to allocate.
    pub fn overlay(name: &str) -> NetworkSpec {
        NetworkSpec {
            name: name.to_string(),
            ingress: false,
            subnet: String::new(),
            gateway: String::new(),
            vni: 0,
            ..NetworkSpec::ingress("")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub meta: Meta,
    pub spec: NetworkSpec,
}

/// A service's place on one user network. `target` is the network's ID once stored; a request
/// may name the network by name or ID prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkTarget {
    pub target: String,
    /// Other names the service answers to on this network.
    pub aliases: Vec<String>,
}

/// A service's virtual IP on one user network (Docker's `Endpoint.VirtualIPs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualIp {
    pub network_id: String,
    /// IPv4 address without prefix.
    pub addr: String,
}
