//! Each node's routing-mesh table as that node's kernel holds it (published port → backends),
//! read through the control API's `NodeMesh`, the same path as `swarmctl node mesh`.
//!
//! A node that cannot be read (down, unreachable, slow) gets its error in place of a table:
//! the page says so in its column instead of showing a stale or empty table.

use std::collections::BTreeMap;
use std::time::Duration;

use api::control::control_server::Control;
use api::control::{MeshTable, NodeMeshRequest};
use futures::future::BoxFuture;
use futures::{stream, StreamExt};
use manager::controlapi::ControlApi;
use serde::Serialize;

/// How long one node may take to answer before its column shows a timeout.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Nodes read at once, so a large cluster does not open hundreds of connections together.
const CONCURRENT_READS: usize = 16;

/// Where mesh tables come from: the control API in swarmd, a fake in tests.
pub trait MeshReader: Send + Sync + 'static {
    /// The table of the node with this ID, or why it cannot be read.
    fn mesh(&self, node_id: &str) -> BoxFuture<'_, Result<MeshTable, String>>;
}

impl MeshReader for ControlApi {
    fn mesh(&self, node_id: &str) -> BoxFuture<'_, Result<MeshTable, String>> {
        let request = tonic::Request::new(NodeMeshRequest {
            node: node_id.to_string(),
        });
        Box::pin(async move {
            self.node_mesh(request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| s.message().to_string())
        })
    }
}

/// One node's column footer: its table, or the error that replaced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MeshView {
    Table {
        /// `ipvs` or `nftables`.
        backend: String,
        ports: Vec<MeshPort>,
    },
    Error {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshPort {
    pub protocol: String,
    pub port: u32,
    pub service: String,
    /// `ip:port` of each backend, as the kernel lists them.
    pub backends: Vec<String>,
}

impl From<MeshTable> for MeshView {
    fn from(table: MeshTable) -> Self {
        let mut ports: Vec<MeshPort> = table
            .services
            .into_iter()
            .map(|s| MeshPort {
                protocol: s.protocol.to_lowercase(),
                port: s.published_port,
                service: s.service_name,
                backends: s.backends.into_iter().map(|b| b.addr).collect(),
            })
            .collect();
        ports.sort_by(|a, b| (a.port, &a.protocol).cmp(&(b.port, &b.protocol)));
        MeshView::Table {
            backend: table.backend,
            ports,
        }
    }
}

/// Reads every node's table (a few at a time, each within [`READ_TIMEOUT`]).
pub async fn read_all(reader: &dyn MeshReader, nodes: Vec<String>) -> BTreeMap<String, MeshView> {
    stream::iter(nodes)
        .map(|id| async move {
            let view = match tokio::time::timeout(READ_TIMEOUT, reader.mesh(&id)).await {
                Ok(Ok(table)) => MeshView::from(table),
                Ok(Err(error)) => MeshView::Error { error },
                Err(_) => MeshView::Error {
                    error: format!("no answer within {} s", READ_TIMEOUT.as_secs()),
                },
            };
            (id, view)
        })
        .buffer_unordered(CONCURRENT_READS)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::control::{MeshBackendEntry, MeshVirtualService};

    struct Fake;

    impl MeshReader for Fake {
        fn mesh(&self, node_id: &str) -> BoxFuture<'_, Result<MeshTable, String>> {
            let id = node_id.to_string();
            Box::pin(async move {
                match id.as_str() {
                    "down" => Err("node w2 is down".to_string()),
                    "slow" => {
                        tokio::time::sleep(READ_TIMEOUT * 2).await;
                        Ok(MeshTable::default())
                    }
                    _ => Ok(MeshTable {
                        backend: "nftables".into(),
                        services: vec![MeshVirtualService {
                            protocol: "TCP".into(),
                            published_port: 8080,
                            service_name: "web".into(),
                            backends: vec![MeshBackendEntry {
                                addr: "10.255.0.5:80".into(),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                }
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_node_gets_its_table_or_its_error() {
        let nodes = ["up", "down", "slow"].map(String::from).to_vec();
        let got = read_all(&Fake, nodes).await;
        assert_eq!(
            got["up"],
            MeshView::Table {
                backend: "nftables".into(),
                ports: vec![MeshPort {
                    protocol: "tcp".into(),
                    port: 8080,
                    service: "web".into(),
                    backends: vec!["10.255.0.5:80".into()],
                }],
            }
        );
        assert_eq!(
            got["down"],
            MeshView::Error {
                error: "node w2 is down".into()
            }
        );
        let MeshView::Error { error } = &got["slow"] else {
            panic!("a slow node has no table: {:?}", got["slow"]);
        };
        assert!(error.contains("no answer within 2 s"), "{error}");
        let json = serde_json::to_value(&got["down"]).unwrap();
        assert_eq!(json, serde_json::json!({"error": "node w2 is down"}));
    }
}
