//! The live visualizer, served by the managers (`swarmd --web-addr`): one column per node, one
//! card per task, each node's routing-mesh table, updated in the browser as the store changes.
//!
//! - [`snapshot`]: the picture as data, a pure function of the store's tables
//! - [`mesh`]: each node's mesh table read back from its kernel (the control API's `NodeMesh`)
//! - [`hub`]: follows the store's watch and publishes one debounced document for every page
//! - [`routes`]: `GET /` and its assets (embedded, no build step), `/api/state`, `/api/events`
//!   (server-sent events)
//!
//! Read-only: every route is a `GET`; other methods answer 405. Nothing secret is shown.

pub mod hub;
pub mod mesh;
pub mod routes;
pub mod snapshot;

use std::sync::Arc;

use axum::Router;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use mesh::MeshReader;

/// What every handler shares.
#[derive(Clone)]
pub struct Web {
    /// The latest document from the [`hub`].
    state: watch::Receiver<hub::Document>,
    /// Ends open event streams, so a stop does not wait for browsers to go away.
    stop: CancellationToken,
}

impl Web {
    /// The latest document.
    pub fn current(&self) -> hub::Document {
        self.state.borrow().clone()
    }

    /// A receiver that sees every later document.
    pub fn subscribe(&self) -> watch::Receiver<hub::Document> {
        self.state.clone()
    }
}

/// Every route over `web`.
pub fn router(web: Web) -> Router {
    routes::routes().with_state(web)
}

/// Serves the visualizer on `listener` from `store` until `stop`. Returns when the server and
/// the publisher have both finished.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    reader: Arc<dyn MeshReader>,
    stop: CancellationToken,
) {
    let (state, publisher) = hub::start(store, reader, stop.clone());
    let app = router(Web {
        state,
        stop: stop.clone(),
    });
    let server = async {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "the visualizer's web server failed");
        }
    };
    tokio::join!(server, publisher);
}
