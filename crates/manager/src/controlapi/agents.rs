//! What is read from the nodes themselves, through their agents: the live routing-mesh table
//! and container logs.
//!
//! Logs of a service come from every node that ran one of its tasks, merged in arrival order
//! and stamped with the node's hostname. With `follow`, the store is polled for tasks that
//! appear later (restarts, scale-up, rolling updates) so their logs join the stream. A node
//! that cannot be read does not end the stream: it yields one line with `stream = "error"`
//! saying so, which swarmctl prints to stderr.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use api::control::{LogLine, MeshTable, ServiceLogsRequest};
use api::dispatcher::agent_client::AgentClient;
use api::dispatcher::{AgentMeshRequest, TaskLogsRequest};
use futures::future::BoxFuture;
use store::{LookupError, Store, Tables};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Status;
use types::{Node, NodeState, Task, TaskState};

use super::error::ApiError;

/// How often a followed service is checked for new tasks.
const FOLLOW_POLL: Duration = Duration::from_millis(500);
/// Lines buffered between the node readers and the client.
const LOG_BUFFER: usize = 256;
pub type LogStream = ReceiverStream<Result<LogLine, Status>>;

/// Opens a connection to a node's `Agent` service. The daemon supplies it because only it knows
/// where each node's agent listens and with which credentials.
pub trait NodeConnector: Send + Sync + 'static {
    /// A client for `node`'s agent, or UNAVAILABLE saying why the node cannot be reached.
    /// The future owns what it needs (`'static`) so it can run on a spawned task.
    fn agent(&self, node: &Node) -> BoxFuture<'static, Result<AgentClient<Channel>, Status>>;
}

/// Prefixes an agent's failure with the node it came from.
fn node_status(node: &Node, status: Status) -> Status {
    Status::new(
        status.code(),
        format!("node {}: {}", node.description.hostname, status.message()),
    )
}

/// The mesh table of the node `query` names, or of `local` (this manager's node) when empty.
pub async fn node_mesh(
    store: &Store,
    connector: &dyn NodeConnector,
    local: &str,
    query: &str,
) -> Result<MeshTable, Status> {
    let query = if query.is_empty() { local } else { query };
    let node = store
        .view(|t| t.find_node(query).cloned())
        .map_err(ApiError::from)?;
    if node.status.state == NodeState::Down {
        return Err(ApiError::Unavailable(format!(
            "node {} is down; its mesh table cannot be read until it is back",
            node.description.hostname
        ))
        .into());
    }
    let mut client = connector
        .agent(&node)
        .await
        .map_err(|s| node_status(&node, s))?;
    let mut table = client
        .mesh(AgentMeshRequest {})
        .await
        .map_err(|s| node_status(&node, s))?
        .into_inner();
    if table.node_id.is_empty() {
        table.node_id = node.id.clone();
    }
    if table.hostname.is_empty() {
        table.hostname = node.description.hostname.clone();
    }
    Ok(table)
}

/// Whose logs a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LogTarget {
    Service(String),
    Task(String),
}

fn resolve_target(tables: &Tables, query: &str) -> Result<LogTarget, ApiError> {
    match tables.find_service(query) {
        Ok(s) => Ok(LogTarget::Service(s.id.clone())),
        Err(LookupError::NotFound { .. }) => match tables.find_task(query) {
            Ok(t) => Ok(LogTarget::Task(t.id.clone())),
            Err(LookupError::NotFound { .. }) => Err(ApiError::NotFound(format!(
                "no service or task matches `{query}`; list them with `swarmctl service ls` or `swarmctl service ps SERVICE`"
            ))),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// A task whose container may have written something.
fn has_container(t: &Task) -> bool {
    !t.node_id.is_empty()
        && t.status.state >= TaskState::Starting
        && t.status.state != TaskState::Rejected
}

/// Tasks of the target not read yet, grouped by the node that runs them. `None` once the
/// target is gone from the store.
fn unread_tasks(
    tables: &Tables,
    target: &LogTarget,
    read: &HashSet<String>,
) -> Option<Vec<(Node, Vec<Task>)>> {
    let tasks: Vec<&Task> = match target {
        LogTarget::Service(id) => {
            tables.services.get(id)?;
            tables.tasks_of_service(id).collect()
        }
        LogTarget::Task(id) => vec![tables.tasks.get(id)?],
    };
    let mut by_node: BTreeMap<&str, Vec<Task>> = BTreeMap::new();
    for t in tasks {
        if has_container(t) && !read.contains(&t.id) {
            by_node.entry(&t.node_id).or_default().push(t.clone());
        }
    }
    Some(
        by_node
            .into_iter()
            .filter_map(|(node_id, tasks)| Some((tables.nodes.get(node_id)?.clone(), tasks)))
            .collect(),
    )
}

pub fn service_logs(
    store: Store,
    connector: Arc<dyn NodeConnector>,
    req: ServiceLogsRequest,
) -> Result<LogStream, ApiError> {
    let target = store.view(|t| resolve_target(t, &req.service))?;
    let (tx, rx) = mpsc::channel(LOG_BUFFER);
    tokio::spawn(merge_logs(store, connector, target, req, tx));
    Ok(ReceiverStream::new(rx))
}

/// Starts a reader per node (and, when following, per node of every later task) and ends
/// when the readers are done, the client goes away, or a followed target is removed.
async fn merge_logs(
    store: Store,
    connector: Arc<dyn NodeConnector>,
    target: LogTarget,
    req: ServiceLogsRequest,
    tx: mpsc::Sender<Result<LogLine, Status>>,
) {
    let mut read = HashSet::new();
    let mut readers = JoinSet::new();
    // `tail` applies to the tasks that exist now; later tasks are new, all their lines count.
    let mut tail = req.tail;
    while let Some(batch) = store.view(|t| unread_tasks(t, &target, &read)) {
        for (node, tasks) in batch {
            read.extend(tasks.iter().map(|t| t.id.clone()));
            let request = TaskLogsRequest {
                task_ids: tasks.iter().map(|t| t.id.clone()).collect(),
                follow: req.follow,
                tail,
                timestamps: req.timestamps,
            };
            readers.spawn(read_node(
                connector.clone(),
                node,
                tasks,
                request,
                tx.clone(),
            ));
        }
        tail = -1;
        if !req.follow {
            break;
        }
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep(FOLLOW_POLL) => {}
        }
    }
    tokio::select! {
        _ = tx.closed() => {}
        _ = async { while readers.join_next().await.is_some() {} } => {}
    }
}

/// Streams one node's lines for `tasks` to `tx`, stamping where they came from.
async fn read_node(
    connector: Arc<dyn NodeConnector>,
    node: Node,
    tasks: Vec<Task>,
    request: TaskLogsRequest,
    tx: mpsc::Sender<Result<LogLine, Status>>,
) {
    let result = async {
        let mut client = connector.agent(&node).await?;
        let mut stream = client.task_logs(request).await?.into_inner();
        while let Some(mut line) = stream.message().await? {
            node_stamp(&mut line, &node, &tasks);
            if tx.send(Ok(line)).await.is_err() {
                break;
            }
        }
        Ok::<(), Status>(())
    }
    .await;
    if let Err(status) = result {
        let mut line = LogLine {
            stream: types::LogStream::Error.as_str().into(),
            line: format!(
                "cannot read logs from node {}: {}",
                node.description.hostname,
                status.message()
            )
            .into_bytes(),
            timestamp_ms: types::now_ms(),
            ..Default::default()
        };
        node_stamp(&mut line, &node, &[]);
        let _ = tx.send(Ok(line)).await;
    }
}

/// Fills in what the agent may not know: the node's hostname, and the task's service and slot.
fn node_stamp(line: &mut LogLine, node: &Node, tasks: &[Task]) {
    line.node_id = node.id.clone();
    line.hostname = node.description.hostname.clone();
    if let Some(task) = tasks.iter().find(|t| t.id == line.task_id) {
        if line.service_name.is_empty() {
            line.service_name = task.service_name.clone();
        }
        if line.slot == 0 {
            line.slot = task.slot;
        }
    }
}
