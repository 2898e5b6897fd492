//! Dispatcher benchmark: push passes over 5,000 nodes with open sessions and 100,000 tasks.
//!
//! `cargo run --release -p manager --example dispatcher_bench [-- NODES TASKS]`
//!
//! Prints the time of one push pass (`Dispatcher::publish`, what the leader runs after each
//! burst of store writes) in four cases: the first, full pass (indexes the store, sends every
//! node its assignment); a pass after one task status report (an echo to its own node: nothing
//! to push); a pass after a task becomes a mesh backend (a new network view for every node);
//! and, for scale, the per-node scan the publisher used to do on every pass (each node's tasks
//! found by going through every task).

use std::time::{Duration, Instant};

use manager::dispatcher::{Dispatcher, DispatcherConfig};
use store::{Object, Store, StoreError};
use types::{
    NetworkAttachment, Node, NodeDescription, PortConfig, Service, Task, TaskState, TaskStatus,
};

/// One service in this many publishes a port (its tasks are mesh backends).
const PUBLISHED_EVERY: usize = 10;
const SERVICES: usize = 100;
/// Small passes measured; the median is reported so one slow run does not decide the figure.
const RUNS: usize = 5;

fn node_id(i: usize) -> String {
    format!("node{i:05}")
}

fn services() -> Vec<Service> {
    (0..SERVICES)
        .map(|i| {
            let mut s = Service {
                id: format!("svc{i:03}"),
                ..Default::default()
            };
            s.spec.name = s.id.clone();
            if i % PUBLISHED_EVERY == 0 {
                s.endpoint_ports.push(PortConfig {
                    target_port: 80,
                    published_port: 30_000 + i as u32,
                    ..Default::default()
                });
            }
            s
        })
        .collect()
}

/// Tasks spread round-robin over the nodes, all running except the last of each node's
/// share, which is starting (the measured reports move those on).
fn tasks(task_count: usize, node_count: usize) -> Vec<Task> {
    (0..task_count)
        .map(|i| {
            let service = i % SERVICES;
            let mut t = Task {
                id: format!("task{i:06}"),
                service_id: format!("svc{service:03}"),
                service_name: format!("svc{service:03}"),
                slot: (i / SERVICES + 1) as u64,
                node_id: node_id(i % node_count),
                desired_state: TaskState::Running,
                ..Default::default()
            };
            t.spec.container.image = "nginx".into();
            t.status.state = if i + node_count >= task_count {
                TaskState::Starting
            } else {
                TaskState::Running
            };
            t.networks.push(NetworkAttachment {
                network_id: "ingress".into(),
                addr: format!("10.{}.{}.{}", 1 + i / 65_536, (i / 256) % 256, i % 256),
                mac: "02:42:0a:00:00:01".into(),
            });
            t
        })
        .collect()
}

fn is_published(t: &Task) -> bool {
    let service: usize = t.service_id["svc".len()..].parse().expect("service index");
    service.is_multiple_of(PUBLISHED_EVERY)
}

fn millis(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Reports `state` for a task as its agent would and times the pass that follows.
async fn report_and_publish(
    d: &Dispatcher,
    task: &Task,
    session: &str,
    state: TaskState,
) -> (Duration, usize) {
    let status = TaskStatus {
        state,
        timestamp_ms: types::now_ms(),
        message: format!("{state:?}").to_lowercase(),
        ..Default::default()
    };
    d.update_task_status(&task.node_id, session, vec![(task.id.clone(), status)])
        .await
        .expect("status report");
    let start = Instant::now();
    let pushed = d.publish();
    (start.elapsed(), pushed)
}

fn median(mut runs: Vec<(Duration, usize)>) -> (Duration, usize) {
    runs.sort();
    runs[runs.len() / 2]
}

async fn bench(node_count: usize, task_count: usize) {
    assert!(task_count >= node_count, "at least one task per node");
    let store = Store::local();
    let all_tasks = tasks(task_count, node_count);
    store
        .update(|_, tx| {
            for i in 0..node_count {
                tx.create(Object::Node(Node {
                    id: node_id(i),
                    ..Default::default()
                }));
            }
            for s in services() {
                tx.create(Object::Service(s));
            }
            for t in &all_tasks {
                tx.create(Object::Task(t.clone()));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .expect("seeding the store");

    let d = Dispatcher::new(store.clone(), DispatcherConfig::default());
    let mut sessions = Vec::with_capacity(node_count);
    for i in 0..node_count {
        sessions.push(
            d.open_session(&node_id(i), NodeDescription::default())
                .await
                .expect("session"),
        );
    }

    let start = Instant::now();
    let pushed = d.publish();
    println!(
        "full pass ({node_count} nodes, {task_count} tasks): {} ({pushed} pushes)",
        millis(start.elapsed())
    );

    // One starting task per node: moving one on is one status report.
    let starting: Vec<&Task> = all_tasks
        .iter()
        .filter(|t| t.status.state == TaskState::Starting)
        .collect();
    let session_of = |t: &Task| {
        let i: usize = t.node_id["node".len()..].parse().expect("node index");
        sessions[i].0.clone()
    };
    let pass_after_running = |published: bool| {
        let picked: Vec<&Task> = starting
            .iter()
            .copied()
            .filter(|t| is_published(t) == published)
            .take(RUNS)
            .collect();
        let d = &d;
        let session_of = &session_of;
        async move {
            let mut runs = Vec::new();
            for t in picked {
                runs.push(report_and_publish(d, t, &session_of(t), TaskState::Running).await);
            }
            median(runs)
        }
    };
    let (took, pushed) = pass_after_running(false).await;
    println!(
        "pass after one status report, no mesh change (an echo): {} ({pushed} pushes; \
         median of {RUNS})",
        millis(took)
    );
    let (took, pushed) = pass_after_running(true).await;
    println!(
        "pass after a task becomes a mesh backend: {} ({pushed} pushes; median of {RUNS})",
        millis(took)
    );

    let start = Instant::now();
    let listed: usize = store.view(|t| {
        (0..node_count)
            .map(|i| {
                let id = node_id(i);
                t.tasks_on_node(&id)
                    .filter(|task| task.status.state >= TaskState::Assigned)
                    .cloned()
                    .collect::<Vec<_>>()
                    .len()
            })
            .sum()
    });
    assert_eq!(listed, task_count);
    println!(
        "for scale, the former per-node scan (every node × every task): {}",
        millis(start.elapsed())
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let node_count: usize = args.next().map_or(5_000, |a| a.parse().expect("NODES"));
    let task_count: usize = args.next().map_or(100_000, |a| a.parse().expect("TASKS"));
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(bench(node_count, task_count));
}
