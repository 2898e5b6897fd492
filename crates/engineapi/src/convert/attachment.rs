//! Addresses on networks as docker writes them: `ip/prefix` (we store the IP alone and the
//! prefix on the network), in a service's `Endpoint.VirtualIPs` and a task's
//! `NetworksAttachments`, which nests the whole swarm network object.

use std::collections::HashMap;

use api::control as pc;
use api::control::control_server::Control;
use api::objects as pb;
use bollard::models::{Driver, IpamConfig, ObjectVersion};
use serde::Serialize;
use tonic::Request;

use super::stamps;
use crate::error::EngineError;

/// The cluster's networks by ID, read once per request.
#[derive(Debug, Default, Clone)]
pub struct Networks(HashMap<String, pb::Network>);

impl Networks {
    pub async fn load(control: &impl Control) -> Result<Self, EngineError> {
        let listed = control
            .list_networks(Request::new(pc::ListNetworksRequest {}))
            .await?
            .into_inner();
        Ok(Self::from(listed.networks))
    }

    /// `ip/prefix` on `network_id`; the IP alone when the network is gone (removed since).
    pub fn cidr(&self, network_id: &str, ip: &str) -> String {
        let prefix = self
            .0
            .get(network_id)
            .and_then(|n| n.spec.as_ref())
            .and_then(|s| s.subnet.split_once('/'))
            .map(|(_, len)| len);
        match prefix {
            Some(len) => format!("{ip}/{len}"),
            None => ip.to_string(),
        }
    }

    /// A task's attachments, in its interface order.
    pub fn attachments(&self, attached: &[pb::NetworkAttachment]) -> Vec<NetworkAttachment> {
        attached
            .iter()
            .map(|a| NetworkAttachment {
                network: self.0.get(&a.network_id).cloned().map_or_else(
                    || SwarmNetwork {
                        id: a.network_id.clone(),
                        ..Default::default()
                    },
                    SwarmNetwork::from,
                ),
                addresses: vec![self.cidr(&a.network_id, &a.addr)],
            })
            .collect()
    }
}

impl From<Vec<pb::Network>> for Networks {
    fn from(networks: Vec<pb::Network>) -> Self {
        Networks(networks.into_iter().map(|n| (n.id.clone(), n)).collect())
    }
}

/// moby's `swarm.NetworkAttachment` (bollard's `Task` model does not have it).
#[derive(Debug, Clone, Serialize)]
pub struct NetworkAttachment {
    #[serde(rename = "Network")]
    pub network: SwarmNetwork,
    #[serde(rename = "Addresses")]
    pub addresses: Vec<String>,
}

/// moby's `swarm.Network`, the network as the swarm stores it (not `network.Inspect`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SwarmNetwork {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Version", skip_serializing_if = "Option::is_none")]
    pub version: Option<ObjectVersion>,
    #[serde(rename = "CreatedAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(rename = "UpdatedAt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(rename = "Spec")]
    pub spec: SwarmNetworkSpec,
    #[serde(rename = "DriverState", skip_serializing_if = "Option::is_none")]
    pub driver_state: Option<Driver>,
    #[serde(rename = "IPAMOptions", skip_serializing_if = "Option::is_none")]
    pub ipam_options: Option<IpamOptions>,
}

/// moby's `swarm.NetworkSpec`, the fields we have.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SwarmNetworkSpec {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Labels")]
    pub labels: HashMap<String, String>,
    #[serde(
        rename = "DriverConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub driver_configuration: Option<Driver>,
    #[serde(rename = "Internal")]
    pub internal: bool,
    #[serde(rename = "Attachable")]
    pub attachable: bool,
    #[serde(rename = "Ingress")]
    pub ingress: bool,
    #[serde(rename = "Scope")]
    pub scope: String,
}

/// moby's `swarm.IPAMOptions`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IpamOptions {
    #[serde(rename = "Driver")]
    pub driver: Driver,
    #[serde(rename = "Configs")]
    pub configs: Vec<IpamConfig>,
}

/// The VXLAN ID key docker's overlay driver reports in `DriverState.Options`.
const VXLAN_ID_OPTION: &str = "com.docker.network.driver.overlay.vxlanid_list";

impl From<pb::Network> for SwarmNetwork {
    fn from(n: pb::Network) -> Self {
        let stamps = stamps(n.meta.as_ref());
        let spec = n.spec.unwrap_or_default();
        let driver = |options: HashMap<String, String>| Driver {
            name: spec.driver.clone(),
            options: Some(options),
        };
        SwarmNetwork {
            id: n.id,
            version: stamps.version,
            created_at: stamps.created_at,
            updated_at: stamps.updated_at,
            driver_state: Some(driver(HashMap::from([(
                VXLAN_ID_OPTION.to_string(),
                spec.vni.to_string(),
            )]))),
            ipam_options: Some(IpamOptions {
                driver: Driver {
                    name: "default".into(),
                    options: None,
                },
                configs: vec![IpamConfig {
                    subnet: Some(spec.subnet.clone()),
                    gateway: (!spec.gateway.is_empty()).then(|| spec.gateway.clone()),
                    ..Default::default()
                }],
            }),
            spec: SwarmNetworkSpec {
                driver_configuration: Some(driver(spec.options.clone())),
                name: spec.name,
                labels: spec.labels,
                internal: spec.internal,
                attachable: spec.attachable,
                ingress: spec.ingress,
                scope: "swarm".into(),
            },
        }
    }
}
