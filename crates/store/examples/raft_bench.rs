//! Commit latency and throughput of the Raft-replicated store: three managers in this
//! process, real gRPC over loopback, redb with fsync on every log append.
//!
//! `cargo run --release -p store --example raft_bench [-- SEQUENTIAL CONCURRENT WRITERS SNAPSHOT_INTERVAL]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use store::raft::{serve, RaftConfig, RaftNode};
use store::{MemoryStore, Object, Store, StoreAction};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

struct Manager {
    node: Arc<RaftNode>,
    store: Store,
    stop: CancellationToken,
}

async fn start(id: u64, root: &std::path::Path, snapshot_interval: u64) -> Manager {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let mut config = RaftConfig::new(id, addr, root.join(format!("m{id}")));
    config.snapshot_interval = snapshot_interval;
    let node = Arc::new(
        RaftNode::start(config, Arc::new(MemoryStore::new()))
            .await
            .expect("start"),
    );
    let stop = CancellationToken::new();
    serve(listener, node.service(), stop.clone());
    Manager {
        store: node.store(),
        node,
        stop,
    }
}

fn create(id: String) -> StoreAction {
    StoreAction::Create(Object::Node(types::Node {
        id,
        ..Default::default()
    }))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

async fn sequential(store: &Store, prefix: &str, n: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        store
            .propose(vec![create(format!("{prefix}-{i}"))])
            .await
            .expect("write");
        latencies.push(t.elapsed());
    }
    latencies.sort();
    latencies
}

fn report_latency(what: &str, l: &[Duration]) {
    println!(
        "{what:<34} n={:<5} p50={:>7.2?} p90={:>7.2?} p99={:>7.2?} max={:>7.2?}",
        l.len(),
        percentile(l, 0.50),
        percentile(l, 0.90),
        percentile(l, 0.99),
        l[l.len() - 1]
    );
}

/// `total` writes of `actions` objects each from `writers` concurrent tasks.
async fn concurrent(store: &Store, prefix: &str, total: usize, writers: usize, actions: usize) {
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let prefix = format!("{prefix}-{w}");
        tasks.push(tokio::spawn(async move {
            for i in (w..total).step_by(writers) {
                let batch = (0..actions)
                    .map(|a| create(format!("{prefix}-{i}-{a}")))
                    .collect();
                store.propose(batch).await.expect("write");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{:<38} {total} writes in {secs:.2} s: {:>8.0} writes/s, {:>8.0} objects/s",
        format!("{writers} writers x {actions} object(s)/write"),
        total as f64 / secs,
        (total * actions) as f64 / secs,
    );
}

/// The disk's own fsync latency, measured the same way redb commits (a small append, then
/// fdatasync): a Raft commit needs at least two in sequence (leader, then a follower).
fn fsync_baseline(dir: &std::path::Path) -> Vec<Duration> {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join("fsync-probe")).expect("probe file");
    let mut latencies: Vec<Duration> = (0..500)
        .map(|_| {
            let t = Instant::now();
            file.write_all(&[7u8; 512]).expect("write");
            file.sync_data().expect("fdatasync");
            t.elapsed()
        })
        .collect();
    latencies.sort();
    latencies
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numeric arguments"))
        .collect();
    let sequential_n = args.first().copied().unwrap_or(2_000);
    let concurrent_n = args.get(1).copied().unwrap_or(50_000);
    let writers = args.get(2).copied().unwrap_or(256);
    let snapshot_interval = args.get(3).copied().unwrap_or(1_000) as u64;

    let root = tempfile::tempdir().expect("temp dir");
    report_latency(
        "fdatasync of this disk (baseline)",
        &fsync_baseline(root.path()),
    );
    let mut managers = Vec::new();
    for id in 1..=3 {
        managers.push(start(id, root.path(), snapshot_interval).await);
    }
    managers[0].node.initialize_single().await.expect("init");
    for id in 2..=3u64 {
        let addr = managers[id as usize - 1].node.config().addr.clone();
        managers[0]
            .node
            .add_voter(id, addr)
            .await
            .expect("add voter");
    }
    let leader = &managers[0];
    assert!(leader.node.is_leader());
    let follower = &managers[1];
    println!(
        "3 managers on 127.0.0.1, redb fsync per append, snapshot every {snapshot_interval} entries"
    );

    sequential(&leader.store, "warm", 200).await;
    report_latency(
        "sequential writes on the leader",
        &sequential(&leader.store, "seq", sequential_n).await,
    );
    report_latency(
        "sequential writes on a follower",
        &sequential(&follower.store, "fwd", sequential_n / 2).await,
    );
    concurrent(&leader.store, "conc", concurrent_n, writers, 1).await;
    concurrent(&leader.store, "batch", concurrent_n / 10, writers / 4, 10).await;

    for m in &managers {
        m.node.shutdown().await.expect("shutdown");
        m.stop.cancel();
    }
}
