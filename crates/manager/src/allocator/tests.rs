//! The allocator against an in-memory store, and its pass as a pure function.

use std::collections::BTreeSet;
use std::time::Duration;

use store::{Object, Store, StoreError, Tables};
use tokio_util::sync::CancellationToken;
use types::{Cluster, ClusterSpec, Node, PortConfig, Service, Task, TaskState};

use super::plan::{allocate, exhausted_message};
use super::Allocator;
use crate::orchestrator::LoopTiming;

fn cluster(subnet: &str) -> Cluster {
    Cluster::new(
        "c",
        ClusterSpec {
            ingress_subnet: subnet.into(),
            ..Default::default()
        },
    )
}

fn new_task(id: &str, service: &str) -> Task {
    Task {
        id: id.into(),
        service_id: service.into(),
        desired_state: TaskState::Running,
        ..Default::default()
    }
}

fn service(id: &str) -> Service {
    Service {
        id: id.into(),
        endpoint_ports: vec![PortConfig {
            target_port: 80,
            published_port: 30000,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn tables(subnet: &str, nodes: usize, tasks: usize) -> Tables {
    let mut t = Tables::default();
    t.clusters.insert("c".into(), cluster(subnet));
    t.services.insert("s".into(), service("s"));
    for i in 0..nodes {
        let id = format!("n{i}");
        t.nodes.insert(
            id.clone(),
            Node {
                id,
                ..Default::default()
            },
        );
    }
    for i in 0..tasks {
        let id = format!("t{i}");
        t.tasks.insert(id.clone(), new_task(&id, "s"));
    }
    t
}

#[test]
fn a_pass_creates_the_network_and_addresses_nodes_and_tasks() {
    let t = tables("10.255.0.0/16", 2, 2);
    let a = allocate(&t, 1).unwrap();
    let net = a.create_network.expect("ingress created");
    assert!(net.spec.ingress);
    assert_eq!(net.spec.subnet, "10.255.0.0/16");
    assert_eq!(net.spec.gateway, "10.255.0.1");
    assert_eq!(net.spec.vni, 4096);
    let node_ips: Vec<&str> = a.nodes.iter().map(|n| n.ingress_addr.as_str()).collect();
    assert_eq!(node_ips, vec!["10.255.0.2", "10.255.0.3"]);
    for (task, ip, mac) in [
        (&a.tasks[0], "10.255.0.4", "02:42:0a:ff:00:04"),
        (&a.tasks[1], "10.255.0.5", "02:42:0a:ff:00:05"),
    ] {
        assert_eq!(task.status.state, TaskState::Pending);
        assert_eq!(task.status.message, "allocated");
        assert_eq!(task.networks.len(), 1);
        assert_eq!(task.networks[0].network_id, net.id);
        assert_eq!(task.networks[0].addr, ip);
        assert_eq!(task.networks[0].mac, mac);
        assert_eq!(task.endpoint_ports[0].published_port, 30000);
    }
}

#[test]
fn nothing_happens_before_the_cluster_exists() {
    let mut t = tables("10.255.0.0/16", 1, 1);
    t.clusters.clear();
    assert!(allocate(&t, 1).unwrap().is_empty());
}

#[test]
fn exhaustion_leaves_the_task_new_with_an_explanation() {
    // A /29 has five usable addresses: two nodes and three tasks fit, the fourth does not.
    let t = tables("10.9.0.0/29", 2, 4);
    let a = allocate(&t, 1).unwrap();
    let pending = a
        .tasks
        .iter()
        .filter(|t| t.status.state == TaskState::Pending)
        .count();
    assert_eq!(pending, 3);
    let stuck: Vec<&Task> = a
        .tasks
        .iter()
        .filter(|t| t.status.state == TaskState::New)
        .collect();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].status.err, exhausted_message("10.9.0.0/29"));
    assert!(stuck[0].networks.is_empty());
    assert_eq!(
        exhausted_message("10.255.0.0/16"),
        "ingress network 10.255.0.0/16 has no free address"
    );
}

async fn wait_for(store: &Store, what: &str, done: impl Fn(&Tables) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !store.view(&done) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn run(store: &Store) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let timing = LoopTiming {
        resync: Duration::from_millis(200),
        tick: Duration::from_millis(2),
        retry: Duration::from_millis(20),
    };
    let a = Allocator::new(store.clone()).with_timing(timing);
    (stop.clone(), tokio::spawn(a.run(stop)))
}

async fn add(store: &Store, objects: Vec<Object>) {
    store
        .update(|_, tx| {
            for o in objects.clone() {
                tx.create(o);
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

fn all_addresses(t: &Tables) -> Vec<String> {
    t.nodes
        .values()
        .map(|n| n.ingress_addr.clone())
        .chain(
            t.tasks
                .values()
                .flat_map(|x| x.networks.iter().map(|a| a.addr.clone())),
        )
        .filter(|a| !a.is_empty())
        .collect()
}

#[tokio::test]
async fn a_new_leader_never_hands_out_an_address_twice() {
    let store = Store::local();
    add(
        &store,
        vec![
            Object::Cluster(cluster("10.255.0.0/16")),
            Object::Service(service("s")),
        ],
    )
    .await;
    let (stop, handle) = run(&store);
    add(
        &store,
        (0..3)
            .map(|i| {
                Object::Node(Node {
                    id: format!("n{i}"),
                    ..Default::default()
                })
            })
            .collect(),
    )
    .await;
    add(
        &store,
        (0..5)
            .map(|i| Object::Task(new_task(&format!("a{i}"), "s")))
            .collect(),
    )
    .await;
    wait_for(&store, "first allocations", |t| all_addresses(t).len() == 8).await;
    let network_id = store.view(|t| t.ingress().unwrap().id.clone());
    stop.cancel();
    handle.await.unwrap();

    // Delete one task: its address is free again, the others stay taken.
    let freed = store.view(|t| t.tasks["a0"].networks[0].addr.clone());
    store
        .update(|_, tx| {
            tx.remove(store::Kind::Task, "a0");
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();

    let (stop, handle) = run(&store);
    add(
        &store,
        (0..5)
            .map(|i| Object::Task(new_task(&format!("b{i}"), "s")))
            .collect(),
    )
    .await;
    add(
        &store,
        vec![Object::Node(Node {
            id: "n9".into(),
            ..Default::default()
        })],
    )
    .await;
    wait_for(&store, "second allocations", |t| {
        all_addresses(t).len() == 13
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.cancel();
    handle.await.unwrap();

    store.view(|t| {
        assert_eq!(
            t.networks.len(),
            1,
            "the ingress network is never recreated"
        );
        assert_eq!(t.ingress().unwrap().id, network_id);
        let all = all_addresses(t);
        let distinct: BTreeSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "duplicate address in {all:?}");
        assert!(t
            .tasks
            .values()
            .all(|x| x.status.state == TaskState::Pending));
        assert!(t
            .tasks
            .values()
            .all(|x| x.networks[0].network_id == network_id));
    });
    // Allocation continues after the highest address rather than reusing the freed one.
    assert!(!store.view(all_addresses).contains(&freed));
}
