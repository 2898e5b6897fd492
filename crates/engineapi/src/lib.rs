//! The Docker Engine API on a node's unix socket, so the real `docker` CLI, `docker stack
//! deploy`, the swarm visualizer and scripts written for Docker's swarm mode work against swarmd.
//!
//! Every swarm route goes through the same [`ControlApi`] as `swarmctl` (one validation, one set
//! of error texts, one Raft write path); this crate only translates between Docker's JSON models
//! (bollard's generated types, taken from moby's swagger) and our wire messages.
//!
//! - [`version`]: `/v1.NN` path prefixes, version checks, the headers docker puts on every answer
//! - [`error`]: the one mapping from control-API failures to HTTP statuses and `{"message"}`
//! - [`body`]: JSON request bodies, refusing malformed JSON and fields we would silently drop
//! - [`filters`]: the `filters` query parameter and its matching rules
//! - [`system`]: `/_ping`, `/version`, `/info`, `/swarm`, `/distribution`
//! - [`nodes`], [`services`], [`tasks`], [`networks`], [`data`] (secrets and configs)
//! - [`logs`]: service and task logs as docker's multiplexed stream
//! - [`events`]: swarm events from the manager when asked for them alone; others the engine's
//! - [`proxy`]: container and image routes, passed through to the node's own engine
//! - [`convert`]: our wire messages ⇄ Docker's models
//!
//! Workers serve the socket too: swarm routes answer 503 with docker's "not a swarm manager"
//! text, container routes go to the local engine.

pub mod body;
pub mod convert;
pub mod data;
pub mod error;
pub mod events;
pub mod filters;
pub mod logs;
pub mod networks;
pub mod nodes;
pub mod params;
pub mod proxy;
pub mod services;
pub mod system;
pub mod tasks;
pub mod version;

use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use manager::controlapi::ControlApi;
use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;

pub use error::EngineError;

/// What the socket serves: the control API on managers, and this node's own engine.
pub struct Engine {
    /// The manager's control API; `None` on a worker (swarm routes answer 503).
    control: Option<ControlApi>,
    /// This node's ID, for `/info` and the `Swarm` ping header.
    node_id: String,
    /// The node's container engine socket, for the container and image routes.
    engine_socket: Option<PathBuf>,
}

/// Shared state of every handler.
pub type Shared = Arc<Engine>;

impl Engine {
    pub fn new(
        control: Option<ControlApi>,
        node_id: String,
        engine_socket: Option<PathBuf>,
    ) -> Self {
        Engine {
            control,
            node_id,
            engine_socket,
        }
    }

    /// The control API, or docker's 503 "not a swarm manager" on a worker.
    pub fn control(&self) -> Result<&ControlApi, EngineError> {
        self.control.as_ref().ok_or_else(EngineError::not_manager)
    }

    pub fn is_manager(&self) -> bool {
        self.control.is_some()
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The node's own container engine, when it has one.
    pub fn engine_socket(&self) -> Option<&std::path::Path> {
        self.engine_socket.as_deref()
    }
}

/// Every route, unversioned; [`version::layer`] strips `/v1.NN` before routing.
pub fn router(engine: Shared) -> Router {
    let routes = Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/swarm", get(system::swarm_inspect))
        .route("/swarm/update", post(system::swarm_update))
        .route("/swarm/init", post(system::already_in_swarm))
        .route("/swarm/join", post(system::already_in_swarm))
        .route("/swarm/leave", post(system::leave))
        .route("/distribution/{*name}", get(system::distribution))
        .merge(nodes::routes())
        .merge(services::routes())
        .merge(tasks::routes())
        .merge(networks::routes())
        .merge(data::routes())
        .merge(logs::routes())
        .merge(events::routes())
        .fallback(proxy::pass)
        .with_state(engine);
    version::wrap(routes)
}

/// Serves `listener` until `stop`.
pub async fn serve(listener: UnixListener, engine: Engine, stop: CancellationToken) {
    let app = router(Arc::new(engine));
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::error!(error = %e, "engine API socket failed");
    }
}
