//! The control API: what `swarmctl` talks to, served by every manager.
//!
//! Reads come from the local store; writes go through [`Store::update`], which forwards them to
//! the Raft leader and returns once committed. Each request is checked completely before
//! anything is written, so a refused request changes nothing.
//!
//! - [`services`]: create, get, update (and rollback), remove, list services; list tasks
//! - [`nodes`]: list, get, update (availability, labels, promote/demote), remove nodes
//! - [`cluster`]: the cluster object, join-token rotation
//! - [`networks`]: user overlay networks; a service's networks and virtual IPs
//! - [`data`]: secrets (sealed at rest) and configs (labels alone can change); a service's
//!   references to them
//! - [`agents`], [`conns`]: read from nodes' agents: mesh tables, task logs, mesh connections
//! - [`events`]: cluster events from this manager's history, then live
//! - [`error`]: the one mapping from failures to `tonic::Status`

pub mod agents;
pub mod cluster;
pub mod conns;
pub mod data;
pub mod error;
pub mod events;
pub mod networks;
pub mod nodes;
pub mod services;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use api::control as pc;
use api::control::control_server::Control;
use api::objects as pb;
use store::Store;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

pub use agents::NodeConnector;
pub use error::ApiError;
use error::{reply, wire};

/// Response metadata naming the node that answered, so `swarmctl node ls` can mark it with `*`.
pub const NODE_ID_METADATA: &str = "swarm-node-id";

/// The `Control` gRPC service over one manager's store.
#[derive(Clone)]
pub struct ControlApi {
    /// The replicated state: reads local, writes committed through the leader.
    store: Store,
    /// How `NodeMesh` and `ServiceLogs` reach other nodes' agents.
    connector: Arc<dyn NodeConnector>,
    /// This manager's node ID: the default node of `NodeMesh`, and the `*` in `node ls`.
    local_node_id: String,
    /// What `Events` serves; without it, `Events` is refused as unavailable.
    events: Option<crate::events::EventHistory>,
}

impl ControlApi {
    pub fn new(
        store: Store,
        connector: Arc<dyn NodeConnector>,
        local_node_id: impl Into<String>,
    ) -> Self {
        ControlApi {
            store,
            connector,
            local_node_id: local_node_id.into(),
            events: None,
        }
    }

    /// Serves `Events` from `history` (fed by the manager's event recorder).
    pub fn with_events(mut self, history: crate::events::EventHistory) -> Self {
        self.events = Some(history);
        self
    }

    /// Adds the answering node's ID to a response's metadata.
    fn stamped<T>(&self, body: T) -> Response<T> {
        let mut response = Response::new(body);
        if let Ok(value) = MetadataValue::try_from(self.local_node_id.as_str()) {
            response.metadata_mut().insert(NODE_ID_METADATA, value);
        }
        response
    }
}

#[tonic::async_trait]
impl Control for ControlApi {
    async fn get_cluster(
        &self,
        _: Request<pc::GetClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let cluster = cluster::get(&self.store).map(pb::Cluster::from)?;
        Ok(self.stamped(cluster))
    }

    async fn rotate_join_token(
        &self,
        request: Request<pc::RotateJoinTokenRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        reply(cluster::rotate_join_tokens(&self.store, request.into_inner()).await)
    }

    async fn issue_client_certificate(
        &self,
        request: Request<pc::IssueClientCertificateRequest>,
    ) -> Result<Response<pc::IssueClientCertificateResponse>, Status> {
        cluster::issue_client_certificate(&self.store, &request.get_ref().csr).map(Response::new)
    }

    async fn list_nodes(
        &self,
        _: Request<pc::ListNodesRequest>,
    ) -> Result<Response<pc::ListNodesResponse>, Status> {
        let nodes = wire(nodes::list(&self.store));
        Ok(self.stamped(pc::ListNodesResponse { nodes }))
    }

    async fn get_node(
        &self,
        request: Request<pc::GetNodeRequest>,
    ) -> Result<Response<pb::Node>, Status> {
        let node = nodes::get(&self.store, &request.into_inner().id).map(pb::Node::from)?;
        Ok(self.stamped(node))
    }

    async fn update_node(
        &self,
        request: Request<pc::UpdateNodeRequest>,
    ) -> Result<Response<pb::Node>, Status> {
        reply(nodes::update(&self.store, request.into_inner()).await)
    }

    async fn remove_node(
        &self,
        request: Request<pc::RemoveNodeRequest>,
    ) -> Result<Response<pc::RemoveNodeResponse>, Status> {
        nodes::remove(&self.store, request.into_inner()).await?;
        Ok(Response::new(pc::RemoveNodeResponse {}))
    }

    async fn create_service(
        &self,
        request: Request<pc::CreateServiceRequest>,
    ) -> Result<Response<pb::Service>, Status> {
        reply(services::create(&self.store, request.into_inner()).await)
    }

    async fn get_service(
        &self,
        request: Request<pc::GetServiceRequest>,
    ) -> Result<Response<pb::Service>, Status> {
        reply(services::get(&self.store, &request.into_inner().id))
    }

    async fn update_service(
        &self,
        request: Request<pc::UpdateServiceRequest>,
    ) -> Result<Response<pb::Service>, Status> {
        reply(services::update(&self.store, request.into_inner()).await)
    }

    async fn remove_service(
        &self,
        request: Request<pc::RemoveServiceRequest>,
    ) -> Result<Response<pc::RemoveServiceResponse>, Status> {
        services::remove(&self.store, &request.into_inner().id).await?;
        Ok(Response::new(pc::RemoveServiceResponse {}))
    }

    async fn list_services(
        &self,
        _: Request<pc::ListServicesRequest>,
    ) -> Result<Response<pc::ListServicesResponse>, Status> {
        let services = wire(services::list(&self.store));
        Ok(Response::new(pc::ListServicesResponse { services }))
    }

    async fn list_tasks(
        &self,
        request: Request<pc::ListTasksRequest>,
    ) -> Result<Response<pc::ListTasksResponse>, Status> {
        let tasks = wire(services::list_tasks(&self.store, &request.into_inner())?);
        Ok(Response::new(pc::ListTasksResponse { tasks }))
    }

    async fn list_networks(
        &self,
        _: Request<pc::ListNetworksRequest>,
    ) -> Result<Response<pc::ListNetworksResponse>, Status> {
        let networks = wire(networks::list(&self.store));
        Ok(Response::new(pc::ListNetworksResponse { networks }))
    }

    async fn get_network(
        &self,
        request: Request<pc::GetNetworkRequest>,
    ) -> Result<Response<pb::Network>, Status> {
        reply(networks::get(&self.store, &request.into_inner().id))
    }

    async fn create_network(
        &self,
        request: Request<pc::CreateNetworkRequest>,
    ) -> Result<Response<pb::Network>, Status> {
        reply(networks::create(&self.store, request.into_inner()).await)
    }

    async fn remove_network(
        &self,
        request: Request<pc::RemoveNetworkRequest>,
    ) -> Result<Response<pc::RemoveNetworkResponse>, Status> {
        networks::remove(&self.store, &request.into_inner().id).await?;
        Ok(Response::new(pc::RemoveNetworkResponse {}))
    }

    async fn list_data(
        &self,
        request: Request<pc::ListDataRequest>,
    ) -> Result<Response<pc::ListDataResponse>, Status> {
        let kind = data::kind_of(request.into_inner().kind)?;
        let objects = wire(data::list(&self.store, kind));
        Ok(Response::new(pc::ListDataResponse { objects }))
    }

    async fn get_data(
        &self,
        request: Request<pc::GetDataRequest>,
    ) -> Result<Response<pb::DataObject>, Status> {
        let r = request.into_inner();
        reply(data::kind_of(r.kind).and_then(|kind| data::get(&self.store, kind, &r.id)))
    }

    async fn create_data(
        &self,
        request: Request<pc::CreateDataRequest>,
    ) -> Result<Response<pb::DataObject>, Status> {
        reply(data::create(&self.store, request.into_inner()).await)
    }

    async fn update_data(
        &self,
        request: Request<pc::UpdateDataRequest>,
    ) -> Result<Response<pb::DataObject>, Status> {
        reply(data::update(&self.store, request.into_inner()).await)
    }

    async fn remove_data(
        &self,
        request: Request<pc::RemoveDataRequest>,
    ) -> Result<Response<pc::RemoveDataResponse>, Status> {
        let r = request.into_inner();
        data::remove(&self.store, data::kind_of(r.kind)?, &r.id).await?;
        Ok(Response::new(pc::RemoveDataResponse {}))
    }

    async fn node_mesh(
        &self,
        request: Request<pc::NodeMeshRequest>,
    ) -> Result<Response<pc::MeshTable>, Status> {
        let query = request.into_inner().node;
        let connector = self.connector.as_ref();
        let table = agents::node_mesh(&self.store, connector, &self.local_node_id, &query).await?;
        Ok(self.stamped(table))
    }

    async fn service_conns(
        &self,
        request: Request<pc::ServiceConnsRequest>,
    ) -> Result<Response<pc::ServiceConnsResponse>, Status> {
        conns::service_conns(&self.store, &self.connector, request).await
    }

    type ServiceLogsStream = agents::LogStream;

    async fn service_logs(
        &self,
        request: Request<pc::ServiceLogsRequest>,
    ) -> Result<Response<Self::ServiceLogsStream>, Status> {
        let stream = agents::service_logs(
            self.store.clone(),
            self.connector.clone(),
            request.into_inner(),
        )?;
        Ok(Response::new(stream))
    }

    type EventsStream = events::EventStream;

    async fn events(
        &self,
        request: Request<pc::EventsRequest>,
    ) -> Result<Response<Self::EventsStream>, Status> {
        events::stream(self.events.as_ref(), request.into_inner())
    }
}
