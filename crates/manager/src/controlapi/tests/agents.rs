//! Mesh tables and logs read from agents: a real gRPC agent on 127.0.0.1 serving canned data.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use api::control::{self as pc, control_server::Control, LogLine, MeshTable};
use api::dispatcher::agent_client::AgentClient;
use api::dispatcher::agent_server::{Agent, AgentServer};
use api::dispatcher::{
    AgentConnsRequest, AgentConnsResponse, AgentMeshRequest, MeshConn, TaskLogsRequest,
};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use store::{Object, Store, StoreError};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use types::{Node, NodeRole, NodeState, Task, TaskState, TaskStatus};

use super::super::agents::LogStream;
use super::super::{ControlApi, NodeConnector};
use super::{assert_status, create, node, spec, store_with};

/// An agent that answers every task with one line naming it, then (when following) stays open.
struct FakeAgent;

type LineStream = Pin<Box<dyn Stream<Item = Result<LogLine, Status>> + Send>>;

#[tonic::async_trait]
impl Agent for FakeAgent {
    async fn mesh(&self, _: Request<AgentMeshRequest>) -> Result<Response<MeshTable>, Status> {
        Ok(Response::new(MeshTable {
            backend: "nftables".into(),
            services: vec![pc::MeshVirtualService {
                protocol: "TCP".into(),
                key: "0.0.0.0:8080".into(),
                published_port: 8080,
                scheduler: "numgen".into(),
                service_name: "web".into(),
                backends: vec![],
            }],
            ..Default::default()
        }))
    }

    async fn conns(
        &self,
        _: Request<AgentConnsRequest>,
    ) -> Result<Response<AgentConnsResponse>, Status> {
        Ok(Response::new(AgentConnsResponse {
            conns: vec![MeshConn {
                protocol: "tcp".into(),
                client: "192.168.56.100:40522".into(),
                published: "127.0.0.1:8080".into(),
                backend: "10.255.0.5:80".into(),
                state: "ESTABLISHED".into(),
                timeout_secs: 300,
                age_secs: 0,
            }],
            ..Default::default()
        }))
    }

    type TaskLogsStream = LineStream;

    async fn task_logs(
        &self,
        request: Request<TaskLogsRequest>,
    ) -> Result<Response<LineStream>, Status> {
        let req = request.into_inner();
        let lines: Vec<Result<LogLine, Status>> = req
            .task_ids
            .iter()
            .map(|id| {
                Ok(LogLine {
                    task_id: id.clone(),
                    stream: types::LogStream::Stdout.as_str().into(),
                    line: format!("hello from {id} tail={}", req.tail).into_bytes(),
                    ..Default::default()
                })
            })
            .collect();
        let stream = futures::stream::iter(lines);
        Ok(Response::new(if req.follow {
            Box::pin(stream.chain(futures::stream::pending()))
        } else {
            Box::pin(stream)
        }))
    }
}

async fn start_agent() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(AgentServer::new(FakeAgent))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    addr
}

/// Every node's agent is the fake one, except nodes listed as unreachable.
struct Connector {
    addr: SocketAddr,
    unreachable: Vec<String>,
}

impl NodeConnector for Connector {
    fn agent(&self, node: &Node) -> BoxFuture<'static, Result<AgentClient<Channel>, Status>> {
        let refused = self.unreachable.contains(&node.id);
        let url = format!("http://{}", self.addr);
        Box::pin(async move {
            if refused {
                return Err(Status::unavailable("connection refused"));
            }
            AgentClient::connect(url)
                .await
                .map_err(|e| Status::unavailable(e.to_string()))
        })
    }
}

pub(super) fn running_task(id: &str, service_id: &str, slot: u64, node_id: &str) -> Task {
    Task {
        id: id.into(),
        service_id: service_id.into(),
        service_name: "web".into(),
        slot,
        node_id: node_id.into(),
        desired_state: TaskState::Running,
        status: TaskStatus {
            state: TaskState::Running,
            ..Default::default()
        },
        ..Default::default()
    }
}

pub(super) async fn add_tasks(store: &Store, tasks: Vec<Task>) {
    store
        .update(|_, tx| {
            for t in &tasks {
                tx.create(Object::Task(t.clone()));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

pub(super) async fn fixture(unreachable: Vec<String>) -> (Store, ControlApi, String) {
    let store = store_with(vec![
        node("m1", "manager1", NodeRole::Manager, NodeState::Ready),
        node("n1", "worker1", NodeRole::Worker, NodeState::Ready),
        node("n2", "worker2", NodeRole::Worker, NodeState::Ready),
        node("n3", "worker3", NodeRole::Worker, NodeState::Down),
    ])
    .await;
    let connector = Connector {
        addr: start_agent().await,
        unreachable,
    };
    let api = ControlApi::new(store.clone(), Arc::new(connector), "m1");
    let web = create(&api, spec("web")).await.unwrap();
    (store, api, web.id)
}

fn logs(service: &str, follow: bool) -> Request<pc::ServiceLogsRequest> {
    Request::new(pc::ServiceLogsRequest {
        service: service.into(),
        follow,
        tail: 10,
        timestamps: false,
    })
}

async fn next_line(stream: &mut LogStream) -> LogLine {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a line within 5 s")
        .expect("the stream is still open")
        .expect("a line, not an error")
}

fn text(line: &LogLine) -> String {
    String::from_utf8_lossy(&line.line).into_owned()
}

#[tokio::test]
async fn mesh_is_read_from_the_named_or_local_node() {
    let (_, api, _) = fixture(vec![]).await;
    let local = api
        .node_mesh(Request::new(pc::NodeMeshRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (local.node_id.as_str(), local.hostname.as_str()),
        ("m1", "manager1")
    );
    assert_eq!(local.services[0].published_port, 8080);
    let remote = api
        .node_mesh(Request::new(pc::NodeMeshRequest {
            node: "worker2".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(remote.node_id, "n2");
    assert_status(
        api.node_mesh(Request::new(pc::NodeMeshRequest {
            node: "worker3".into(),
        }))
        .await,
        Code::Unavailable,
        &["worker3 is down"],
    );
}

#[tokio::test]
async fn logs_merge_every_node_and_stamp_the_hostname() {
    let (store, api, web) = fixture(vec![]).await;
    let mut pending = running_task("t3", &web, 3, "n2");
    pending.status.state = TaskState::Assigned;
    add_tasks(
        &store,
        vec![
            running_task("t1", &web, 1, "n1"),
            running_task("t2", &web, 2, "n2"),
            pending,
        ],
    )
    .await;
    let stream = api
        .service_logs(logs("web", false))
        .await
        .unwrap()
        .into_inner();
    let mut lines: Vec<(String, String, u64, String)> = stream
        .map(|l| {
            let l = l.unwrap();
            (l.task_id.clone(), l.hostname.clone(), l.slot, text(&l))
        })
        .collect()
        .await;
    lines.sort();
    assert_eq!(
        lines,
        vec![
            (
                "t1".into(),
                "worker1".into(),
                1,
                "hello from t1 tail=10".into()
            ),
            (
                "t2".into(),
                "worker2".into(),
                2,
                "hello from t2 tail=10".into()
            ),
        ],
        "a task that has not started has no logs yet"
    );

    // One task's logs by task ID.
    let one: Vec<_> = api
        .service_logs(logs("t2", false))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(one.len(), 1);
    assert_status(
        api.service_logs(logs("zzz", false)).await.map(|_| ()),
        Code::NotFound,
        &["no service or task matches `zzz`"],
    );
}

#[tokio::test]
async fn an_unreachable_node_yields_an_error_line_not_a_broken_stream() {
    let (store, api, web) = fixture(vec!["n2".into()]).await;
    add_tasks(
        &store,
        vec![
            running_task("t1", &web, 1, "n1"),
            running_task("t2", &web, 2, "n2"),
        ],
    )
    .await;
    let lines: Vec<LogLine> = api
        .service_logs(logs("web", false))
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(lines.len(), 2);
    let error = lines
        .iter()
        .find(|l| l.stream == types::LogStream::Error.as_str())
        .unwrap();
    assert_eq!(error.hostname, "worker2");
    assert!(
        text(error).contains("connection refused"),
        "{}",
        text(error)
    );
}

#[tokio::test]
async fn following_picks_up_tasks_started_later() {
    let (store, api, web) = fixture(vec![]).await;
    add_tasks(&store, vec![running_task("t1", &web, 1, "n1")]).await;
    let mut stream = api
        .service_logs(logs("web", true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(text(&next_line(&mut stream).await), "hello from t1 tail=10");
    // The replacement of a restarted task: all its lines count, not just the tail.
    add_tasks(&store, vec![running_task("t1b", &web, 1, "n2")]).await;
    let line = next_line(&mut stream).await;
    assert_eq!(text(&line), "hello from t1b tail=-1");
    assert_eq!(line.hostname, "worker2");
}
