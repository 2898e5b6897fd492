//! The per-node `Agent` gRPC service managers call: the live mesh table, the connections the
//! mesh carries, and task logs.

use std::pin::Pin;
use std::sync::Arc;

use api::control::{LogLine, MeshTable};
use api::dispatcher as pb;
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::agent::Agent;
use crate::executor::LogOptions;

pub struct AgentService {
    agent: Arc<Agent>,
}

impl AgentService {
    pub fn new(agent: Arc<Agent>) -> Self {
        AgentService { agent }
    }
}

type LogStreamOut = Pin<Box<dyn Stream<Item = Result<LogLine, Status>> + Send>>;

#[tonic::async_trait]
impl pb::agent_server::Agent for AgentService {
    type TaskLogsStream = LogStreamOut;

    async fn mesh(&self, _: Request<pb::AgentMeshRequest>) -> Result<Response<MeshTable>, Status> {
        let table = self
            .agent
            .network()
            .mesh()
            .await
            .map_err(|e| Status::internal(format!("reading the mesh from the kernel: {e}")))?;
        let mut table = MeshTable::from(table);
        table.node_id = self.agent.node_id().to_string();
        table.hostname = self.agent.hostname().to_string();
        Ok(Response::new(table))
    }

    async fn conns(
        &self,
        _: Request<pb::AgentConnsRequest>,
    ) -> Result<Response<pb::AgentConnsResponse>, Status> {
        let conns = self.agent.network().conns().await.map_err(|e| {
            Status::internal(format!("reading connection tracking from the kernel: {e}"))
        })?;
        Ok(Response::new(pb::AgentConnsResponse {
            node_id: self.agent.node_id().to_string(),
            hostname: self.agent.hostname().to_string(),
            conns: conns.into_iter().map(Into::into).collect(),
        }))
    }

    async fn task_logs(
        &self,
        request: Request<pb::TaskLogsRequest>,
    ) -> Result<Response<Self::TaskLogsStream>, Status> {
        let req = request.into_inner();
        let options = LogOptions {
            follow: req.follow,
            tail: u64::try_from(req.tail).ok(),
        };
        let mut streams = Vec::new();
        for task_id in req.task_ids {
            let agent = self.agent.clone();
            let task = agent.task(&task_id);
            let (service_name, slot) = task.map(|t| (t.service_name, t.slot)).unwrap_or_default();
            let node_id = agent.node_id().to_string();
            let hostname = agent.hostname().to_string();
            let s = async_stream::stream! {
                let exec = agent.executor().clone();
                let mut chunks = exec.logs(&task_id, options);
                while let Some(chunk) = chunks.next().await {
                    match chunk {
                        Ok(c) => yield Ok(LogLine {
                            task_id: task_id.clone(),
                            service_name: service_name.clone(),
                            slot,
                            node_id: node_id.clone(),
                            hostname: hostname.clone(),
                            timestamp_ms: c.timestamp_ms,
                            stream: c.stream.as_str().into(),
                            line: c.line,
                        }),
                        Err(e) => { yield Err(Status::unavailable(e.to_string())); break; }
                    }
                }
            };
            streams.push(s.boxed());
        }
        Ok(Response::new(Box::pin(futures::stream::select_all(
            streams,
        ))))
    }
}
