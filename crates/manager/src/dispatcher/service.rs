//! The dispatcher's gRPC face. Every manager serves it; only the leader has a live
//! [`Dispatcher`] behind it, the others redirect agents with `swarm-leader` metadata.

use std::pin::Pin;
use std::sync::{Arc, RwLock};

use api::dispatcher as pb;
use futures::Stream;
use tonic::{Request, Response, Status};

use super::{Assignment, DispatchError, Dispatcher};

/// Metadata key naming the leader's address in redirects.
pub const LEADER_METADATA: &str = "swarm-leader";

/// Tells a non-leader where the leader is.
pub trait LeaderHint: Send + Sync + 'static {
    fn leader_addr(&self) -> Option<String>;
}

/// The dispatcher of this manager while it leads; `None` otherwise. The daemon swaps it on
/// leadership changes.
#[derive(Default)]
pub struct DispatcherSlot(RwLock<Option<Arc<Dispatcher>>>);

impl DispatcherSlot {
    pub fn set(&self, d: Option<Arc<Dispatcher>>) {
        *self.0.write().expect("slot lock") = d;
    }

    fn get(&self) -> Option<Arc<Dispatcher>> {
        self.0.read().expect("slot lock").clone()
    }

    /// The nodes with a session open, while this manager leads; `None` otherwise.
    pub fn session_count(&self) -> Option<usize> {
        self.get().map(|d| d.session_count())
    }
}

pub struct DispatcherService {
    slot: Arc<DispatcherSlot>,
    hint: Arc<dyn LeaderHint>,
}

impl DispatcherService {
    pub fn new(slot: Arc<DispatcherSlot>, hint: Arc<dyn LeaderHint>) -> Self {
        DispatcherService { slot, hint }
    }

    fn leader(&self) -> Result<Arc<Dispatcher>, Status> {
        if let Some(d) = self.slot.get() {
            return Ok(d);
        }
        let mut status = Status::unavailable(match self.hint.leader_addr() {
            Some(addr) => format!("this manager is not the leader; the leader is {addr}"),
            None => "no leader elected yet; retry shortly".to_string(),
        });
        if let Some(addr) = self.hint.leader_addr() {
            if let Ok(v) = addr.parse() {
                status.metadata_mut().insert(LEADER_METADATA, v);
            }
        }
        Err(status)
    }
}

fn to_status(e: DispatchError) -> Status {
    match e {
        DispatchError::UnknownNode(_) => Status::not_found(e.to_string()),
        DispatchError::StaleSession(_) => Status::failed_precondition(e.to_string()),
        DispatchError::Store(store::StoreError::NoLeader(_)) => Status::unavailable(e.to_string()),
        DispatchError::Store(_) => Status::internal(e.to_string()),
    }
}

/// What a session last sent: the view's version and the secrets and configs.
#[derive(Default)]
struct Sent {
    version: Option<u64>,
    data: Option<Vec<(types::DataKind, String)>>,
}

/// `a` for a session that last sent `sent` (nothing yet at first): the view whole the first
/// time, what changed since afterwards, nothing when it did not change; the secrets and
/// configs whole when their set changed, else nothing.
fn to_message(a: &Assignment, sent: &mut Sent) -> pb::SessionMessage {
    let data_ids = super::data::ids(&a.data);
    let data_sent = sent.data.as_ref() != Some(&data_ids);
    let message = to_message_with_view(a, sent.version, data_sent);
    sent.version = Some(a.network.version);
    sent.data = Some(data_ids);
    message
}

fn to_message_with_view(a: &Assignment, sent: Option<u64>, data_sent: bool) -> pb::SessionMessage {
    let log = &a.network;
    let delta = match sent {
        Some(v) if v == log.version => Some(None),
        Some(v) => log.since(v).map(|d| {
            Some(pb::NetworkViewDelta {
                base_version: v,
                ..(&d).into()
            })
        }),
        None => None,
    };
    let (network, network_delta) = match delta {
        Some(delta) => (None, delta),
        None => (Some(log.view.clone().into()), None),
    };
    pb::SessionMessage {
        session_id: a.session_id.clone(),
        tasks: a.tasks.iter().cloned().map(Into::into).collect(),
        network,
        managers: a.managers.clone(),
        heartbeat_period_ms: a.heartbeat_period.as_millis() as u64,
        node: Some(a.node.clone().into()),
        network_version: log.version,
        network_delta,
        data_sent,
        data: match data_sent {
            true => a.data.iter().cloned().map(Into::into).collect(),
            false => Vec::new(),
        },
    }
}

/// A node speaks only for itself. The daemon serves the dispatcher behind an authorizer that
/// leaves the caller's verified identity in the request; it must be the node the request names.
/// (Without one, as in in-process tests, there is no identity to compare.)
fn check_caller<T>(request: &Request<T>, node_id: &str) -> Result<(), Status> {
    match request.extensions().get::<security::PeerIdentity>() {
        Some(peer) if peer.node_id != node_id => Err(Status::permission_denied(format!(
            "node {} cannot speak for node {node_id}",
            peer.node_id
        ))),
        _ => Ok(()),
    }
}

type SessionStream = Pin<Box<dyn Stream<Item = Result<pb::SessionMessage, Status>> + Send>>;

#[tonic::async_trait]
impl pb::dispatcher_server::Dispatcher for DispatcherService {
    type SessionStream = SessionStream;

    async fn session(
        &self,
        request: Request<pb::SessionRequest>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        check_caller(&request, &request.get_ref().node_id)?;
        let d = self.leader()?;
        let req = request.into_inner();
        let description = req
            .description
            .map(types::NodeDescription::from)
            .unwrap_or_default();
        let (_, mut rx) = d
            .open_session(&req.node_id, description)
            .await
            .map_err(to_status)?;
        let stream = async_stream::stream! {
            let mut sent = Sent::default();
            loop {
                let current = rx.borrow_and_update().clone();
                if let Some(a) = current {
                    yield Ok(to_message(&a, &mut sent));
                }
                // The sender is dropped when the session is replaced, expires, or this
                // manager stops leading: the stream ends and the agent reconnects.
                if rx.changed().await.is_err() {
                    break;
                }
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        check_caller(&request, &request.get_ref().node_id)?;
        let d = self.leader()?;
        let req = request.into_inner();
        let period = d
            .heartbeat(&req.node_id, &req.session_id)
            .map_err(to_status)?;
        Ok(Response::new(pb::HeartbeatResponse {
            period_ms: period.as_millis() as u64,
        }))
    }

    async fn update_task_status(
        &self,
        request: Request<pb::UpdateTaskStatusRequest>,
    ) -> Result<Response<pb::UpdateTaskStatusResponse>, Status> {
        check_caller(&request, &request.get_ref().node_id)?;
        let d = self.leader()?;
        let req = request.into_inner();
        let mut updates = Vec::with_capacity(req.updates.len());
        for u in req.updates {
            let status = types::TaskStatus::try_from(u.status.unwrap_or_default())
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            updates.push((u.task_id, status));
        }
        d.update_task_status(&req.node_id, &req.session_id, updates)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::UpdateTaskStatusResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use types::{DataKind, DataPayload, Node};

    fn assignment(data: &[(&str, &[u8])]) -> Assignment {
        Assignment {
            session_id: "s".into(),
            node: Node::default(),
            tasks: Arc::new([]),
            network: Arc::new(super::super::view_log::ViewLog::default()),
            managers: Vec::new(),
            heartbeat_period: Duration::from_millis(500),
            data: data
                .iter()
                .map(|(id, bytes)| DataPayload {
                    kind: DataKind::Secret,
                    id: id.to_string(),
                    data: bytes.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn secrets_are_sent_whole_when_their_set_changes_and_not_again() {
        let mut sent = Sent::default();
        let first = to_message(&assignment(&[]), &mut sent);
        assert!(
            first.data_sent,
            "a session's first message says what it holds"
        );
        let m = to_message(&assignment(&[("s1", b"pw")]), &mut sent);
        assert!(m.data_sent);
        assert_eq!(m.data.len(), 1);
        assert_eq!(m.data[0].data, b"pw");
        let again = to_message(&assignment(&[("s1", b"pw")]), &mut sent);
        assert!(
            !again.data_sent && again.data.is_empty(),
            "no news: not resent"
        );
        let gone = to_message(&assignment(&[]), &mut sent);
        assert!(
            gone.data_sent && gone.data.is_empty(),
            "the node drops what it holds"
        );
    }
}
