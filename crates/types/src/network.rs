//! Networks; for now the ingress overlay that carries the routing mesh.

use serde::{Deserialize, Serialize};

use crate::meta::Meta;

pub const INGRESS_NAME: &str = "ingress";
pub const DEFAULT_INGRESS_SUBNET: &str = "10.255.0.0/16";
pub const DEFAULT_INGRESS_VNI: u32 = 4096;
pub const DEFAULT_VXLAN_PORT: u32 = 4789;
pub const DEFAULT_OVERLAY_MTU: u32 = 1450;

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
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub meta: Meta,
    pub spec: NetworkSpec,
}
