//! The one publisher of the picture: it follows the store's watch, and after a change waits
//! [`DEBOUNCE`] for the rest of the burst (a scale to 300 is hundreds of writes) before it
//! renders one JSON document for every open page at once. Pages never poll the store.
//!
//! Mesh tables come from the nodes, not the store: they are read again a little after each
//! change (nodes program their mesh once the dispatcher tells them) and every
//! [`MESH_PERIOD`], and a document goes out when one of them differs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{watch, Notify};
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use crate::mesh::{self, MeshReader, MeshView};
use crate::snapshot;

/// Changes that come within this time of the first one go out together.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// Time the nodes get to reprogram their mesh after a change before it is read back.
const MESH_SETTLE: Duration = Duration::from_millis(500);
/// Mesh tables are read at least this often, to show what changed on a node by itself.
const MESH_PERIOD: Duration = Duration::from_secs(5);

type Meshes = BTreeMap<String, MeshView>;

/// The latest document, as JSON text shared by every reader.
pub type Document = Arc<str>;

/// Starts publishing; the receiver always holds the latest document. Runs until `stop`.
pub fn start(
    store: Store,
    reader: Arc<dyn MeshReader>,
    stop: CancellationToken,
) -> (
    watch::Receiver<Document>,
    impl std::future::Future<Output = ()>,
) {
    let (first, events) = store.view_and_watch(|t| snapshot::build(t, 0, types::now_ms()));
    let (tx, rx) = watch::channel(encode(&first));
    let (mesh_tx, mesh_rx) = watch::channel(Meshes::new());
    let changed = Arc::new(Notify::new());
    let publisher = publish(
        store.clone(),
        events,
        tx,
        mesh_rx,
        changed.clone(),
        stop.clone(),
    );
    let refresher = refresh_meshes(store, reader, mesh_tx, changed, stop);
    (rx, async move {
        tokio::join!(publisher, refresher);
    })
}

fn encode(snapshot: &snapshot::Snapshot) -> Document {
    match serde_json::to_string(snapshot) {
        Ok(json) => json.into(),
        // Plain strings and numbers always serialize; kept total rather than panicking.
        Err(e) => format!("{{\"error\":\"{e}\"}}").into(),
    }
}

/// Renders the store and the latest mesh tables.
fn render(store: &Store, meshes: &Meshes) -> Document {
    let version = store.memory().applied_index();
    let mut snap = store.view(|t| snapshot::build(t, version, types::now_ms()));
    snap.meshes = meshes.clone();
    encode(&snap)
}

async fn publish(
    store: Store,
    mut events: tokio::sync::broadcast::Receiver<store::EventBatch>,
    tx: watch::Sender<Document>,
    mut meshes: watch::Receiver<Meshes>,
    changed: Arc<Notify>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            r = events.recv() => match r {
                // Lagged: writes were missed, which a full document covers anyway.
                Ok(_) | Err(RecvError::Lagged(_)) => changed.notify_one(),
                Err(RecvError::Closed) => return,
            },
            r = meshes.changed() => if r.is_err() { return },
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = sleep(DEBOUNCE) => {}
        }
        while let Ok(_) | Err(TryRecvError::Lagged(_)) = events.try_recv() {}
        let document = render(&store, &meshes.borrow_and_update());
        tx.send_replace(document);
    }
}

async fn refresh_meshes(
    store: Store,
    reader: Arc<dyn MeshReader>,
    tx: watch::Sender<Meshes>,
    changed: Arc<Notify>,
    stop: CancellationToken,
) {
    loop {
        let nodes = store.view(|t| t.nodes.keys().cloned().collect::<Vec<_>>());
        let tables = tokio::select! {
            _ = stop.cancelled() => return,
            tables = mesh::read_all(reader.as_ref(), nodes) => tables,
        };
        tx.send_if_modified(|current| {
            let differs = *current != tables;
            if differs {
                *current = tables;
            }
            differs
        });
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = changed.notified() => {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = sleep(MESH_SETTLE) => {}
                }
            }
            _ = sleep(MESH_PERIOD) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::control::MeshTable;
    use futures::future::BoxFuture;
    use store::{Object, StoreError};
    use types::{Node, NodeDescription};

    struct NoMesh;

    impl MeshReader for NoMesh {
        fn mesh(&self, _: &str) -> BoxFuture<'_, Result<MeshTable, String>> {
            Box::pin(async { Err("no agents in this test".to_string()) })
        }
    }

    async fn add_node(store: &Store, id: &str) {
        let node = Node {
            id: id.into(),
            description: NodeDescription {
                hostname: format!("host-{id}"),
                ..Default::default()
            },
            ..Default::default()
        };
        store
            .update(|_, tx| {
                tx.create(Object::Node(node.clone()));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_burst_of_writes_goes_out_as_few_documents() {
        let store = Store::local();
        let stop = CancellationToken::new();
        let (mut rx, publisher) = start(store.clone(), Arc::new(NoMesh), stop.clone());
        let running = tokio::spawn(publisher);
        assert!(rx.borrow_and_update().contains("\"nodes\":[]"));
        let t0 = tokio::time::Instant::now();
        for i in 0..50 {
            add_node(&store, &format!("n{i:02}")).await;
        }
        let mut documents = 0;
        let last = loop {
            tokio::time::timeout(Duration::from_secs(2), rx.changed())
                .await
                .expect("a document within 2 s")
                .unwrap();
            documents += 1;
            let doc = rx.borrow_and_update().clone();
            if doc.contains("host-n49") && doc.contains("no agents in this test") {
                break doc;
            }
        };
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert!(documents <= 5, "{documents} documents for one burst");
        let snap: serde_json::Value = serde_json::from_str(&last).unwrap();
        assert_eq!(snap["nodes"].as_array().unwrap().len(), 50);
        assert_eq!(
            snap["meshes"]["n00"]["error"].as_str(),
            Some("no agents in this test")
        );
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(1), running)
            .await
            .expect("the publisher stops")
            .unwrap();
    }
}
