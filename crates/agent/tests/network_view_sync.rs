//! The agent follows the network view through the deltas the dispatcher sends (whole view in a
//! session's first message, what changed after): after hundreds of changes to tasks, nodes,
//! published ports, the ingress network and a user network's tasks and names, written faster
//! than the agent is sent them, the
//! view its data plane was given is exactly the one the leader computes from the store.

mod common;

use std::sync::Arc;
use std::time::Duration;

use agent::{RecordingNetwork, TestExecutor};
use common::{leader, start_agent, wait_until};
use manager::dispatcher::view::network_view;
use store::{Kind, Object, Store, StoreError, Tables};
use tokio_util::sync::CancellationToken;
use types::{
    Network, NetworkAttachment, NetworkSpec, NetworkTarget, Node, NodeRole, PortConfig,
    PublishMode, Service, Task, TaskState, VirtualIp,
};

/// A small deterministic generator: the test is the same sequence on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn port(published: u32) -> PortConfig {
    PortConfig {
        target_port: 80,
        published_port: published,
        publish_mode: PublishMode::Ingress,
        ..Default::default()
    }
}

fn ingress() -> Object {
    Object::Network(Network {
        id: "ingress-id".into(),
        meta: Default::default(),
        spec: NetworkSpec::ingress("10.255.0.0/16"),
    })
}

/// One change picked by `rng`, written in one store update.
fn change(t: &Tables, tx: &mut store::Tx, rng: &mut Lcg, step: u64) {
    match rng.below(8) {
        0 | 1 => {
            let node = format!("n{}", 2 + rng.below(3));
            tx.create(Object::Task(Task {
                id: format!("t{step}"),
                service_id: format!("s{}", rng.below(2)),
                node_id: node,
                desired_state: TaskState::Running,
                status: types::TaskStatus {
                    state: TaskState::Running,
                    ..Default::default()
                },
                networks: attachments(step, rng.below(2) == 0),
                ..Default::default()
            }));
        }
        2 => {
            if let Some(id) = nth_key(t.tasks.keys(), rng) {
                tx.remove(Kind::Task, id);
            }
        }
        3 => {
            let Some(id) = nth_key(t.tasks.keys(), rng) else {
                return;
            };
            let mut task = t.tasks[&id].clone();
            task.status.state = match task.status.state {
                TaskState::Running => TaskState::Failed,
                _ => TaskState::Running,
            };
            tx.update(Object::Task(task));
        }
        4 => {
            let id = format!("n{}", 2 + rng.below(4));
            match t.nodes.get(&id) {
                Some(_) => tx.remove(Kind::Node, id),
                None => tx.create(Object::Node(peer(&id, step))),
            }
        }
        5 => {
            let mut s = t.services["s1"].clone();
            s.endpoint_ports = match s.endpoint_ports.is_empty() {
                true => vec![port(30000 + (step % 1000) as u32)],
                false => Vec::new(),
            };
            tx.update(Object::Service(s));
        }
        6 => {
            // A user network's service names change: aliases and VIP.
            let mut s = t.services["s0"].clone();
            let aliases = &mut s.spec.task.networks[0].aliases;
            match aliases.is_empty() {
                true => aliases.push(format!("alias{step}")),
                false => aliases.clear(),
            }
            s.virtual_ips[0].addr = format!("10.0.1.{}", 200 + step % 50);
            tx.update(Object::Service(s));
        }
        _ => match t.ingress() {
            Some(n) if rng.below(4) == 0 => tx.remove(Kind::Network, n.id.clone()),
            Some(_) => {}
            None => tx.create(ingress()),
        },
    }
}

/// Ingress, and on every other task the user network `net-a` too.
fn attachments(step: u64, on_net_a: bool) -> Vec<NetworkAttachment> {
    let mut nets = vec![NetworkAttachment {
        network_id: "ingress-id".into(),
        addr: format!("10.255.{}.{}", step / 250, 1 + step % 250),
        mac: format!("02:42:0a:ff:00:{:02x}", step % 256),
    }];
    if on_net_a {
        nets.push(NetworkAttachment {
            network_id: "net-a".into(),
            addr: format!("10.0.1.{}", 2 + step % 190),
            mac: format!("02:42:0a:00:01:{:02x}", step % 256),
        });
    }
    nets
}

fn nth_key<'a>(
    mut keys: impl ExactSizeIterator<Item = &'a String>,
    rng: &mut Lcg,
) -> Option<String> {
    let len = keys.len() as u64;
    (len > 0).then(|| keys.nth(rng.below(len) as usize).unwrap().clone())
}

fn peer(id: &str, step: u64) -> Node {
    let mut n = Node {
        id: id.into(),
        role: NodeRole::Worker,
        ingress_addr: format!("10.255.255.{}", 10 + step % 200),
        ..Default::default()
    };
    n.status.addr = format!("192.0.2.{}:2377", 10 + step % 200);
    n
}

async fn seed(store: &Store) {
    store
        .update(|_, tx| {
            tx.create(ingress());
            tx.create(Object::Network(Network {
                id: "net-a".into(),
                meta: Default::default(),
                spec: NetworkSpec {
                    subnet: "10.0.1.0/24".into(),
                    vni: 4097,
                    ..NetworkSpec::overlay("a")
                },
            }));
            for (id, ports) in [("s0", vec![port(30080)]), ("s1", Vec::new())] {
                let mut s = Service {
                    id: id.into(),
                    endpoint_ports: ports,
                    ..Default::default()
                };
                s.spec.name = format!("web-{id}");
                s.spec.task.networks = vec![NetworkTarget {
                    target: "net-a".into(),
                    aliases: Vec::new(),
                }];
                s.virtual_ips = vec![VirtualIp {
                    network_id: "net-a".into(),
                    addr: format!("10.0.1.{}", 250 - s.spec.name.len()),
                }];
                tx.create(Object::Service(s));
            }
            for i in 2..5 {
                tx.create(Object::Node(peer(&format!("n{i}"), i)));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

fn in_step(store: &Store, net: &RecordingNetwork) -> bool {
    let leader_view = store.view(network_view);
    net.applied.lock().unwrap().as_ref() == Some(&leader_view)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_view_built_from_deltas_is_the_leader_view_after_400_changes() {
    let stop = CancellationToken::new();
    let (store, addr) = leader(&stop).await;
    seed(&store).await;
    let net = Arc::new(RecordingNetwork::default());
    start_agent(addr, &TestExecutor::new("node1"), net.clone(), &stop);
    wait_until("first view", Duration::from_secs(8), || {
        in_step(&store, &net)
    })
    .await;

    let mut rng = Lcg(12);
    for step in 0..400u64 {
        store
            .update(|t, tx| {
                change(t, tx, &mut rng, step);
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        if step % 50 == 49 {
            wait_until(
                &format!("view after step {step}"),
                Duration::from_secs(8),
                || in_step(&store, &net),
            )
            .await;
        }
    }
    let view = store.view(network_view);
    assert!(
        view.peers.len() >= 2,
        "peers changed and some remain: {view:?}"
    );
    assert!(!view.endpoints.is_empty(), "tasks remain: {view:?}");
    let net_a = &view.overlays[0];
    assert!(!net_a.endpoints.is_empty() && !net_a.services[0].backends.is_empty());
    stop.cancel();
}
