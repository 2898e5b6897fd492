//! `GET /metrics` (`--metrics-addr`): the node's metrics in the Prometheus text format, on
//! managers and workers alike. The listener serves that one route and nothing that writes.
//!
//! A scrape reads the current state where it already is ([`Sources`]: Raft's metrics watch,
//! the store, the dispatcher's sessions, the mesh read back from the kernel; see [`state`])
//! and adds the events counted as they happened ([`metrics::Metrics`], shared with the agent,
//! the data plane, the leader's components and [`control::Counted`] around the Control API).
//! The listener lives as long as the process: a promotion or demotion only changes which
//! sources it reads ([`Sources::set_manager`]).

pub mod control;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use manager::dispatcher::service::DispatcherSlot;
use metrics::{Metrics, Snapshot};
use store::raft::RaftNode;
use store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::manager_runtime::ManagerRuntime;

/// A scrape does not wait longer than this for the kernel's mesh table.
const MESH_READ_LIMIT: Duration = Duration::from_secs(2);

/// What a scrape reads. Cheap to clone.
#[derive(Clone)]
pub struct Sources {
    agent: Arc<agent::Agent>,
    manager: Arc<RwLock<Option<ManagerSources>>>,
}

#[derive(Clone)]
struct ManagerSources {
    raft: Arc<RaftNode>,
    store: Store,
    dispatcher: Arc<DispatcherSlot>,
}

impl Sources {
    pub fn new(agent: Arc<agent::Agent>) -> Sources {
        Sources {
            agent,
            manager: Arc::default(),
        }
    }

    /// The manager runtime the node runs now; `None` on a worker.
    pub fn set_manager(&self, runtime: Option<&ManagerRuntime>) {
        *self.manager.write().expect("sources lock") = runtime.map(|m| ManagerSources {
            raft: m.raft.clone(),
            store: m.store.clone(),
            dispatcher: m.dispatcher.clone(),
        });
    }

    /// The families read at scrape time.
    pub async fn gather(&self) -> Snapshot {
        let mut s = Snapshot::default();
        let manager = self.manager.read().expect("sources lock").clone();
        if let Some(m) = manager {
            let figures = {
                let r = m.raft.metrics();
                let r = r.borrow();
                state::RaftFigures {
                    term: r.current_term,
                    is_leader: m.raft.is_leader(),
                    last_log_index: r.last_log_index.unwrap_or(0),
                    applied_index: r.last_applied.map_or(0, |l| l.index),
                    snapshot_index: r.snapshot.map_or(0, |l| l.index),
                    snapshots_built: m.raft.snapshots_built(),
                }
            };
            state::raft(&figures, &mut s);
            m.store.view(|t| state::store(t, &mut s));
            if let Some(sessions) = m.dispatcher.session_count() {
                state::dispatcher(sessions, &mut s);
            }
        }
        let mesh = tokio::time::timeout(MESH_READ_LIMIT, self.agent.network().mesh()).await;
        let table = match mesh {
            Ok(Ok(table)) => Some(table),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "metrics: the mesh could not be read back");
                None
            }
            Err(_) => None,
        };
        state::mesh(table.as_ref(), &mut s);
        s
    }
}

/// Binds `--metrics-addr` before anything else starts, so an address in use stops swarmd
/// with a message naming the flag.
pub async fn bind(addr: Option<SocketAddr>) -> Result<Option<TcpListener>> {
    let Some(addr) = addr else { return Ok(None) };
    let listener = TcpListener::bind(addr).await.with_context(|| {
        format!("cannot serve metrics on {addr}; is it in use? pick another --metrics-addr")
    })?;
    Ok(Some(listener))
}

#[derive(Clone)]
struct Scraper {
    sources: Sources,
    metrics: Metrics,
}

/// Serves `GET /metrics` on `listener` until `stop`.
pub fn serve(
    listener: TcpListener,
    sources: Sources,
    metrics: Metrics,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let addr = listener.local_addr().ok();
    tracing::info!(addr = ?addr, "serving metrics at /metrics");
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scraper { sources, metrics });
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics server failed");
        }
    })
}

async fn scrape(State(s): State<Scraper>) -> impl IntoResponse {
    let snapshot = s.sources.gather().await;
    (
        [(CONTENT_TYPE, metrics::CONTENT_TYPE)],
        s.metrics.render(snapshot),
    )
}
