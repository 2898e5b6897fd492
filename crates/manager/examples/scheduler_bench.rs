//! Scheduler benchmark: 10,000 pending tasks onto 1,000 nodes.
//!
//! `cargo run --release -p manager --example scheduler_bench [-- TASKS NODES]`
//!
//! Prints the pure batch decision (what the scheduler computes per tick; target ≤ 100 ms) and
//! the end-to-end time through a local store (planning plus committing every assignment) with
//! the `Scheduler` component running as it does on the leader.

use std::time::{Duration, Instant};

use manager::scheduler::{plan, Decision, Scheduler};
use store::{Object, Store, StoreError, Tables};
use tokio_util::sync::CancellationToken;
use types::{Node, NodeState, Resources, Task, TaskState};

/// Decision runs measured; the median is reported so one slow run (a busy machine) does not
/// decide the figure.
const RUNS: usize = 5;

fn nodes(count: usize) -> Vec<Node> {
    (0..count)
        .map(|i| {
            let mut n = Node {
                id: format!("node{i:05}"),
                ..Default::default()
            };
            n.description.hostname = format!("host{i}");
            n.description.resources = Resources {
                nano_cpus: 16_000_000_000,
                memory_bytes: 64 << 30,
            };
            n.status.state = NodeState::Ready;
            if i % 10 == 0 {
                n.role = types::NodeRole::Manager;
            }
            n.spec.labels.insert("zone".into(), format!("z{}", i % 3));
            n
        })
        .collect()
}

/// Ten services of `count / 10` replicas each, with a mix of what the filters look at:
/// reservations, a constraint, a spread preference.
fn tasks(count: usize) -> Vec<Task> {
    (0..count)
        .map(|i| {
            let service = i % 10;
            let mut t = Task {
                id: format!("task{i:06}"),
                service_id: format!("svc{service}"),
                service_name: format!("svc{service}"),
                slot: (i / 10 + 1) as u64,
                desired_state: TaskState::Running,
                ..Default::default()
            };
            t.status.state = TaskState::Pending;
            t.spec.container.image = "nginx".into();
            t.spec.resources.reservations = Resources {
                nano_cpus: 100_000_000,
                memory_bytes: 64 << 20,
            };
            if service == 1 {
                t.spec.placement.constraints = vec!["node.role!=manager".into()];
            }
            if service == 2 {
                t.spec.placement.preferences = vec!["spread=node.labels.zone".into()];
            }
            t
        })
        .collect()
}

fn snapshot(node_count: usize, task_count: usize) -> Tables {
    let mut tables = Tables::default();
    for n in nodes(node_count) {
        tables.nodes.insert(n.id.clone(), n);
    }
    for t in tasks(task_count) {
        tables.tasks.insert(t.id.clone(), t);
    }
    tables
}

fn decision_time(tables: &Tables, task_count: usize) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let decisions = plan(tables);
            let took = start.elapsed();
            let assigned = decisions
                .iter()
                .filter(|d| matches!(d, Decision::Assign { .. }))
                .count();
            assert_eq!(assigned, task_count, "every task fits in this cluster");
            took
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

async fn end_to_end(node_count: usize, task_count: usize) -> (Duration, Duration) {
    let store = Store::local();
    let objects: Vec<Object> = nodes(node_count)
        .into_iter()
        .map(Object::Node)
        .chain(tasks(task_count).into_iter().map(Object::Task))
        .collect();
    store
        .update(|_, tx| {
            for o in &objects {
                tx.create(o.clone());
            }
            Ok::<_, StoreError>(())
        })
        .await
        .expect("seeding the store");

    // One tick driven by hand: plan + commit, nothing else.
    let start = Instant::now();
    let written = Scheduler::new(store.clone()).tick().await.expect("commit");
    let tick = start.elapsed();
    assert_eq!(written, task_count);

    // The running component, reacting to tasks appearing, as on the leader.
    let store = Store::local();
    let (_, mut events) = store.view_and_watch(|_| ());
    let shutdown = CancellationToken::new();
    let scheduler = tokio::spawn(Scheduler::new(store.clone()).run(shutdown.clone()));
    let start = Instant::now();
    store
        .update(|_, tx| {
            for o in &objects {
                tx.create(o.clone());
            }
            Ok::<_, StoreError>(())
        })
        .await
        .expect("seeding the store");
    let all_assigned = |t: &Tables| {
        t.tasks
            .values()
            .filter(|t| t.status.state == TaskState::Assigned)
            .count()
            == task_count
    };
    while !store.view(all_assigned) {
        if let Err(tokio::sync::broadcast::error::RecvError::Closed) = events.recv().await {
            panic!("store closed");
        }
    }
    let component = start.elapsed();
    shutdown.cancel();
    scheduler.await.expect("scheduler task");
    (tick, component)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let task_count: usize = args.next().map_or(10_000, |a| a.parse().expect("TASKS"));
    let node_count: usize = args.next().map_or(1_000, |a| a.parse().expect("NODES"));
    let tables = snapshot(node_count, task_count);

    let decision = decision_time(&tables, task_count);
    println!(
        "scheduler decision: {task_count} tasks onto {node_count} nodes in {:.1} ms \
         (median of {RUNS}; target <= 100 ms)",
        decision.as_secs_f64() * 1e3
    );

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (tick, component) = runtime.block_on(end_to_end(node_count, task_count));
    println!(
        "scheduler tick through a local store (plan + commit): {:.1} ms",
        tick.as_secs_f64() * 1e3
    );
    println!(
        "scheduler component, tasks created -> all assigned: {:.1} ms",
        component.as_secs_f64() * 1e3
    );
}
