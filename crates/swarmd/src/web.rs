//! The live visualizer (`--web-addr IP:PORT`, off unless set), served by managers only: it
//! reads the manager's store and, through its control API, each node's mesh table. A worker
//! given the flag says so and serves nothing; a promotion starts it, a demotion stops it,
//! since it is rebuilt with the node's other servers.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use manager::controlapi::ControlApi;
use store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Binds `--web-addr`, naming the flag when it cannot.
fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    crate::server::bind_reusable(addr, 128, "the visualizer", "--web-addr")
}

/// Serves the visualizer on `addr` until `stop`: on a manager (`control` and `store` given).
pub fn serve(
    addr: SocketAddr,
    store: Store,
    control: ControlApi,
    stop: CancellationToken,
) -> Result<JoinHandle<()>> {
    let listener = bind(addr)?;
    tracing::info!(addr = %addr, "serving the visualizer on http://{addr}/");
    let server = web::serve(listener, store, Arc::new(control), stop.clone());
    Ok(crate::server::spawn_bounded("the visualizer", server, stop))
}

/// On a worker: the flag is kept for a later promotion, and said to do nothing until then.
pub fn note_worker(addr: SocketAddr) {
    tracing::info!(
        addr = %addr,
        "--web-addr: only managers serve the visualizer; this node serves it once promoted"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_in_use_names_the_flag() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = format!("{:#}", bind(addr).unwrap_err());
        assert!(
            err.contains("--web-addr") && err.contains(&addr.to_string()),
            "{err}"
        );
        drop(taken);
        bind(addr).unwrap();
    }
}
