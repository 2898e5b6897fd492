//! [`NodeDataplane`]: the one owner of a node's data plane, and the agent's
//! [`agent::NodeNetwork`] over it.
//!
//! It owns everything around the kernel work that [`Dataplane`] does: the newest view wins
//! (views are handed over through a watch and applied by one background task, so the agent
//! never waits on the kernel), what fails is retried with backoff, and every
//! [`RESYNC_EVERY`] the view is re-applied even if unchanged, to repair links and rules
//! removed behind our back. Unchanged views cost nothing ([`Dataplane::apply`] skips them).
//! The background task ends when the handle is dropped. It also owns the node's resolver:
//! the zone follows the same views, and each task on a user network is served DNS inside
//! its namespace from the moment it is plugged in until it is unplugged.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use agent::network::{NetworkError, NodeNetwork};
use backoff::Backoff;
use futures::future::BoxFuture;
use tokio::sync::watch;
use types::{
    MeshBackendKind, MeshConn, MeshTable, NetworkAttachment, NetworkView, PortProtocol,
    PublishMode, Task,
};

use crate::config::DataplaneConfig;
use crate::dataplane::{Dataplane, GatewayRequest};
use crate::error::{DataplaneError, Result};
use crate::mac::MacAddr;
use crate::resolver::NodeResolver;
use crate::user_networks::Attachment;

/// How often the newest view is re-applied in full.
pub const RESYNC_EVERY: Duration = Duration::from_secs(30);
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);

pub struct NodeDataplane {
    dataplane: Arc<Dataplane>,
    resolver: Arc<NodeResolver>,
    views: watch::Sender<Option<NetworkView>>,
}

impl NodeDataplane {
    /// Probes the kernel, builds the data plane (as [`Dataplane::new`]) and starts its
    /// reconcile task, which times each pass into `metrics`. Must run inside the node's
    /// network namespace.
    pub async fn start(
        config: DataplaneConfig,
        metrics: metrics::Metrics,
    ) -> Result<NodeDataplane> {
        let dataplane = Arc::new(Dataplane::new(config).await?);
        // The host's resolvers, for names that are not the cluster's.
        let upstreams = std::fs::read_to_string("/etc/resolv.conf")
            .map(|text| dns::upstreams_from_resolv_conf(&text))
            .unwrap_or_default();
        let resolver = Arc::new(NodeResolver::new(upstreams));
        let (views, rx) = watch::channel(None);
        tokio::spawn(reconcile(dataplane.clone(), resolver.clone(), rx, metrics));
        Ok(NodeDataplane {
            dataplane,
            resolver,
            views,
        })
    }

    pub fn dataplane(&self) -> &Dataplane {
        &self.dataplane
    }
}

impl Drop for NodeDataplane {
    fn drop(&mut self) {
        self.resolver.stop_all();
    }
}

async fn reconcile(
    dp: Arc<Dataplane>,
    resolver: Arc<NodeResolver>,
    mut views: watch::Receiver<Option<NetworkView>>,
    metrics: metrics::Metrics,
) {
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    let mut backoff = Backoff::new(RETRY_MIN, RETRY_MAX);
    let mut retry: Option<Duration> = None;
    loop {
        let full = tokio::select! {
            r = views.changed() => match r {
                Ok(()) => false,
                Err(_) => return,
            },
            _ = resync.tick() => true,
            _ = tokio::time::sleep(retry.unwrap_or_default()), if retry.is_some() => false,
        };
        let Some(view) = views.borrow_and_update().clone() else {
            continue;
        };
        resolver.set_view(&view);
        let started = std::time::Instant::now();
        let applied = if full {
            dp.resync(&view).await
        } else {
            dp.apply(&view).await
        };
        metrics.dataplane_programmed(full, started.elapsed());
        retry = match applied {
            Ok(()) => {
                backoff.reset();
                None
            }
            Err(e) => {
                let next = backoff.next_delay();
                tracing::warn!(error = %e, retry_in = ?next, "could not apply the network view");
                Some(next)
            }
        };
    }
}

fn address_of(task: &Task, net: &NetworkAttachment) -> Result<(Ipv4Addr, MacAddr), NetworkError> {
    let addr: Ipv4Addr = net
        .addr
        .parse()
        .map_err(|e| NetworkError::Failed(format!("task {} address {}: {e}", task.id, net.addr)))?;
    let mac: MacAddr = net
        .mac
        .parse()
        .map_err(|e| NetworkError::Failed(format!("task {} MAC {}: {e:?}", task.id, net.mac)))?;
    Ok((addr, mac))
}

fn to_agent(e: DataplaneError) -> NetworkError {
    match e {
        DataplaneError::NotReady(_) => NetworkError::NotReady(e.to_string()),
        other => NetworkError::Failed(other.to_string()),
    }
}

impl NodeNetwork for NodeDataplane {
    fn set_view(&self, view: NetworkView) {
        self.views.send_replace(Some(view));
    }

    fn attach<'a>(&'a self, task: &'a Task, pid: u32) -> BoxFuture<'a, Result<(), NetworkError>> {
        Box::pin(async move {
            // Each step is idempotent: a retry after a network that was not built yet
            // re-plugs nothing that is already in.
            let ingress = task.ingress_attachment();
            if let Some(net) = ingress {
                let (addr, mac) = address_of(task, net)?;
                self.dataplane
                    .attach_task(&task.id, pid, addr, mac)
                    .await
                    .map_err(to_agent)?;
            }
            let first = usize::from(ingress.is_some());
            let overlays = task.overlay_attachments();
            for (i, net) in overlays.iter().enumerate() {
                let (addr, mac) = address_of(task, net)?;
                let a = Attachment {
                    task_id: &task.id,
                    index: first + i,
                    network_id: &net.network_id,
                    addr,
                    mac,
                };
                self.dataplane
                    .attach_to_network(&a, pid)
                    .await
                    .map_err(to_agent)?;
            }
            let gateway = GatewayRequest {
                task_id: &task.id,
                index: first + overlays.len(),
                on_ingress: ingress.is_some(),
                host_ports: task
                    .endpoint_ports
                    .iter()
                    .any(|p| p.publish_mode == PublishMode::Host),
                networks: overlays.iter().map(|n| n.network_id.as_str()).collect(),
            };
            self.dataplane
                .attach_gateway(&gateway, pid)
                .await
                .map_err(to_agent)?;
            if let Some(first) = overlays.first() {
                let (client, _) = address_of(task, first)?;
                self.resolver
                    .serve(&task.id, pid, client)
                    .await
                    .map_err(to_agent)?;
            }
            Ok(())
        })
    }

    fn detach<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), NetworkError>> {
        Box::pin(async move {
            self.resolver.stop(task_id);
            self.dataplane.detach_task(task_id).await.map_err(to_agent)
        })
    }

    fn host_port_in_use(&self, protocol: PortProtocol, port: u16) -> Result<bool, NetworkError> {
        // Reads this process's netns socket tables: the node's.
        crate::ports::in_use(protocol, port).map_err(to_agent)
    }

    fn mesh(&self) -> BoxFuture<'_, Result<MeshTable, NetworkError>> {
        Box::pin(async move { self.dataplane.mesh_table().await.map_err(to_agent) })
    }

    fn conns(&self) -> BoxFuture<'_, Result<Vec<MeshConn>, NetworkError>> {
        Box::pin(async move {
            let table = self.dataplane.mesh_table().await.map_err(to_agent)?;
            let published: Vec<(PortProtocol, u16)> = table
                .services
                .iter()
                .map(|s| (s.protocol, s.port))
                .collect();
            let tracked = crate::conntrack::read().await.map_err(to_agent)?;
            Ok(crate::conntrack::through_mesh(tracked, &published))
        })
    }

    fn backend(&self) -> MeshBackendKind {
        self.dataplane.backend()
    }

    fn warnings(&self) -> Vec<String> {
        self.dataplane.warnings().to_vec()
    }
}
