//! A lab node: a thread inside the node's namespace running a real `Dataplane` on its own
//! current-thread runtime, driven by commands from the (synchronous) test.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use network::{Dataplane, DataplaneConfig, MacAddr, MeshChoice};
use tokio::sync::{mpsc, oneshot};
use types::MeshTable;
use types::NetworkView;

type Reply<T> = oneshot::Sender<Result<T, String>>;

fn s<T>(r: Result<T, network::DataplaneError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

enum Cmd {
    Apply(Box<NetworkView>, Reply<()>),
    Attach(String, u32, Ipv4Addr, Reply<()>),
    /// Task, its index among its user networks (1…), network ID, PID, address.
    AttachNet(String, usize, String, u32, Ipv4Addr, Reply<()>),
    /// Task, its interface's index, on ingress, host-mode ports, its user networks, PID.
    AttachGateway(GatewayArgs, u32, Reply<()>),
    Detach(String, Reply<()>),
    Table(Reply<MeshTable>),
    Teardown(Reply<()>),
    /// Drops the data plane and builds a new one, as a restarted swarmd would.
    Restart(Reply<()>),
    Info(Reply<(String, Vec<String>)>),
}

/// [`network::dataplane::GatewayRequest`], owned so it can cross to the node's thread.
pub struct GatewayArgs {
    pub task_id: String,
    pub index: usize,
    pub on_ingress: bool,
    pub host_ports: bool,
    pub networks: Vec<String>,
}

pub struct NodeHandle {
    pub node_id: String,
    pub underlay: Ipv4Addr,
    pub ns_path: String,
    tx: Option<mpsc::UnboundedSender<Cmd>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for NodeHandle {
    /// Closing the channel makes the node tear down; waiting for it keeps cleanup ordered.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl NodeHandle {
    pub fn start(node_id: &str, ns_path: &str, underlay: Ipv4Addr) -> NodeHandle {
        let mut config = DataplaneConfig::new(node_id, underlay);
        config.mesh_backend = MeshChoice::Auto;
        let (tx, mut rx) = mpsc::unbounded_channel::<Cmd>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let path = PathBuf::from(ns_path);
        let thread = std::thread::spawn(move || {
            network::netns::enter(&path).expect("setns into node");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut dp = match Dataplane::new(config.clone()).await {
                    Ok(dp) => dp,
                    Err(e) => {
                        ready_tx.send(Err(e.to_string())).unwrap();
                        return;
                    }
                };
                ready_tx.send(Ok(())).unwrap();
                while let Some(cmd) = rx.recv().await {
                    match cmd {
                        Cmd::Apply(v, r) => drop(r.send(s(dp.apply(&v).await))),
                        Cmd::Attach(id, pid, ip, r) => drop(r.send(s(
                            dp.attach_task(&id, pid, ip, MacAddr::from_ipv4(ip)).await,
                        ))),
                        Cmd::AttachNet(id, index, net, pid, ip, r) => {
                            let a = network::user_networks::Attachment {
                                task_id: &id,
                                index,
                                network_id: &net,
                                addr: ip,
                                mac: MacAddr::from_ipv4(ip),
                            };
                            drop(r.send(s(dp.attach_to_network(&a, pid).await)))
                        }
                        Cmd::AttachGateway(g, pid, r) => {
                            let req = network::dataplane::GatewayRequest {
                                task_id: &g.task_id,
                                index: g.index,
                                on_ingress: g.on_ingress,
                                host_ports: g.host_ports,
                                networks: g.networks.iter().map(String::as_str).collect(),
                            };
                            drop(r.send(s(dp.attach_gateway(&req, pid).await)))
                        }
                        Cmd::Detach(id, r) => drop(r.send(s(dp.detach_task(&id).await))),
                        Cmd::Table(r) => drop(r.send(s(dp.mesh_table().await))),
                        Cmd::Teardown(r) => drop(r.send(s(dp.teardown().await))),
                        Cmd::Restart(r) => {
                            drop(dp);
                            match Dataplane::new(config.clone()).await {
                                Ok(new) => {
                                    dp = new;
                                    drop(r.send(Ok(())));
                                }
                                Err(e) => {
                                    drop(r.send(Err(e.to_string())));
                                    return;
                                }
                            }
                        }
                        Cmd::Info(r) => {
                            drop(r.send(Ok((dp.backend().to_string(), dp.warnings().to_vec()))))
                        }
                    }
                }
                // Leave the namespace as we found it even if the test forgot to tear down.
                let _ = dp.teardown().await;
            });
        });
        ready_rx
            .recv()
            .expect("node thread died")
            .expect("Dataplane::new");
        NodeHandle {
            node_id: node_id.to_string(),
            underlay,
            ns_path: ns_path.to_string(),
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, String> {
        let (tx, rx) = oneshot::channel();
        let sender = self.tx.as_ref().ok_or("node stopped")?;
        sender
            .send(make(tx))
            .map_err(|_| "node thread gone".to_string())?;
        rx.blocking_recv()
            .map_err(|_| "node thread dropped the reply".to_string())?
    }

    pub fn apply(&self, view: &NetworkView) -> Result<(), String> {
        let v = view.clone();
        self.call(|r| Cmd::Apply(Box::new(v), r))
    }

    pub fn attach(&self, task_id: &str, pid: u32, ip: Ipv4Addr) -> Result<(), String> {
        let id = task_id.to_string();
        self.call(|r| Cmd::Attach(id, pid, ip, r))
    }

    pub fn attach_net(
        &self,
        task_id: &str,
        index: usize,
        network_id: &str,
        pid: u32,
        ip: Ipv4Addr,
    ) -> Result<(), String> {
        let (id, net) = (task_id.to_string(), network_id.to_string());
        self.call(|r| Cmd::AttachNet(id, index, net, pid, ip, r))
    }

    pub fn attach_gateway(&self, g: GatewayArgs, pid: u32) -> Result<(), String> {
        self.call(|r| Cmd::AttachGateway(g, pid, r))
    }

    pub fn detach(&self, task_id: &str) -> Result<(), String> {
        let id = task_id.to_string();
        self.call(|r| Cmd::Detach(id, r))
    }

    pub fn table(&self) -> Result<MeshTable, String> {
        self.call(Cmd::Table)
    }

    pub fn teardown(&self) -> Result<(), String> {
        self.call(Cmd::Teardown)
    }

    pub fn restart(&self) -> Result<(), String> {
        self.call(Cmd::Restart)
    }

    pub fn info(&self) -> Result<(String, Vec<String>), String> {
        self.call(Cmd::Info)
    }
}
