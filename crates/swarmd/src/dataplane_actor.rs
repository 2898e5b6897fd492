//! The node's data plane runs on a thread of its own with a single-threaded runtime: kernel
//! changes are serialized, and the netlink futures need not be `Send`. The agent talks to it
//! through [`DataplaneNetwork`], which only sends commands.

use std::net::Ipv4Addr;

use anyhow::{anyhow, Result};
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};
use types::{NetworkView, Node, Task};

const RESYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Command {
    Apply(Box<NetworkView>, Reply<()>),
    Attach {
        task_id: String,
        pid: u32,
        addr: Ipv4Addr,
        mac: network::MacAddr,
        reply: Reply<()>,
    },
    Detach(String, Reply<()>),
    Mesh(Reply<network::MeshTable>),
}

pub struct DataplaneNetwork {
    commands: mpsc::UnboundedSender<Command>,
    backend: String,
    warnings: Vec<String>,
}

impl DataplaneNetwork {
    /// Builds the data plane on its own thread; fails as `Dataplane::new` does.
    pub async fn start(config: network::DataplaneConfig) -> Result<DataplaneNetwork> {
        let (commands, mut rx) = mpsc::unbounded_channel::<Command>();
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("dataplane".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!("data plane runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let dp = match network::Dataplane::new(config).await {
                        Ok(dp) => dp,
                        Err(e) => {
                            let _ = ready_tx.send(Err(anyhow!(e)));
                            return;
                        }
                    };
                    let _ =
                        ready_tx.send(Ok((dp.backend_name().to_string(), dp.warnings().to_vec())));
                    // The last view applied, rewritten now and then: `apply` skips an unchanged
                    // view, so only a resync repairs rules or links removed behind our back.
                    let mut last: Option<Box<NetworkView>> = None;
                    let mut resync = tokio::time::interval(RESYNC_EVERY);
                    resync.tick().await;
                    loop {
                        tokio::select! {
                            cmd = rx.recv() => match cmd {
                                Some(Command::Apply(view, reply)) => {
                                    let r = dp.apply(&view).await.map_err(|e| e.to_string());
                                    last = Some(view);
                                    let _ = reply.send(r);
                                }
                                Some(cmd) => serve(&dp, cmd).await,
                                None => break,
                            },
                            _ = resync.tick() => {
                                if let Some(view) = &last {
                                    if let Err(e) = dp.resync(view).await {
                                        tracing::warn!(error = %e, "data plane resync failed");
                                    }
                                }
                            }
                        }
                    }
                });
            })?;
        let (backend, warnings) = ready_rx
            .await
            .map_err(|_| anyhow!("data plane thread died"))??;
        Ok(DataplaneNetwork {
            commands,
            backend,
            warnings,
        })
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, String> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .map_err(|_| "the data plane thread has stopped".to_string())?;
        rx.await
            .map_err(|_| "the data plane thread has stopped".to_string())?
    }
}

async fn serve(dp: &network::Dataplane, cmd: Command) {
    let s = |e: network::DataplaneError| e.to_string();
    match cmd {
        Command::Apply(view, reply) => {
            let _ = reply.send(dp.apply(&view).await.map_err(s));
        }
        Command::Attach {
            task_id,
            pid,
            addr,
            mac,
            reply,
        } => {
            let _ = reply.send(dp.attach_task(&task_id, pid, addr, mac).await.map_err(s));
        }
        Command::Detach(task_id, reply) => {
            let _ = reply.send(dp.detach_task(&task_id).await.map_err(s));
        }
        Command::Mesh(reply) => {
            let _ = reply.send(dp.mesh_table().await.map_err(s));
        }
    }
}

impl agent::NodeNetwork for DataplaneNetwork {
    fn apply<'a>(
        &'a self,
        _node: &'a Node,
        view: &'a NetworkView,
    ) -> BoxFuture<'a, Result<(), String>> {
        let view = Box::new(view.clone());
        Box::pin(self.call(move |r| Command::Apply(view, r)))
    }

    fn attach<'a>(&'a self, task: &'a Task, pid: u32) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let net = task
                .networks
                .first()
                .ok_or_else(|| format!("task {} has no ingress address yet", task.id))?;
            let addr: Ipv4Addr = net
                .addr
                .parse()
                .map_err(|e| format!("task {} address {}: {e}", task.id, net.addr))?;
            let mac = net
                .mac
                .parse()
                .map_err(|e| format!("task {} MAC {}: {e:?}", task.id, net.mac))?;
            let task_id = task.id.clone();
            self.call(move |reply| Command::Attach {
                task_id,
                pid,
                addr,
                mac,
                reply,
            })
            .await
        })
    }

    fn detach<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        let id = task_id.to_string();
        Box::pin(self.call(move |r| Command::Detach(id, r)))
    }

    fn mesh(&self) -> BoxFuture<'_, Result<api::control::MeshTable, String>> {
        Box::pin(async move {
            let table = self.call(Command::Mesh).await?;
            Ok(crate::adapters::mesh_table_to_wire(table))
        })
    }

    fn host_port_in_use(&self, protocol: types::PortProtocol, port: u16) -> Result<bool, String> {
        // Reads this thread's netns socket tables: the node's, as every swarmd thread is in it.
        network::ports::in_use(protocol, port).map_err(|e| e.to_string())
    }

    fn backend(&self) -> String {
        self.backend.clone()
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}
