//! Services and their tasks: create, get, update (and rollback), remove, list.

use std::collections::BTreeSet;

use api::control as pc;
use store::{Kind, Object, Store, StoreError};
use types::validate::validate_service_spec;
use types::{Service, ServiceSpec, Task, TaskState, UpdateState, UpdateStatus};

use super::error::ApiError;
use super::{data, networks};
use crate::allocator::ports::allocate_published_ports;

/// Decodes and validates a spec from a request; nothing is read or written yet.
fn spec_in(spec: Option<api::objects::ServiceSpec>) -> Result<ServiceSpec, ApiError> {
    let spec = spec.ok_or_else(|| {
        ApiError::InvalidArgument("spec is missing; send the service's full spec".into())
    })?;
    let spec = ServiceSpec::try_from(spec)?;
    validate_service_spec(&spec)?;
    Ok(spec)
}

fn read_back(store: &Store, id: &str) -> Result<Service, ApiError> {
    store
        .view(|t| t.services.get(id).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("service {id} was removed meanwhile")))
}

pub async fn create(store: &Store, req: pc::CreateServiceRequest) -> Result<Service, ApiError> {
    let spec = spec_in(req.spec)?;
    let id = store
        .update(|tables, tx| {
            // Names are unique regardless of case, as in SwarmKit: `web` and `WEB` would be
            // indistinguishable in DNS.
            if let Some(other) = tables.service_named(&spec.name) {
                return Err(ApiError::AlreadyExists(format!(
                    "a service named `{}` already exists ({}); choose another name, or change it with `swarmctl service update {}`",
                    spec.name, other.id, spec.name
                )));
            }
            let id = types::new_id();
            let endpoint_ports = allocate_published_ports(tables, &id, &spec.endpoint.ports)?;
            let mut spec = spec.clone();
            let virtual_ips = networks::attach(tables, &mut spec, &[])?;
            data::resolve(tables, &mut spec)?;
            tx.create(Object::Service(Service {
                id: id.clone(),
                spec,
                endpoint_ports,
                virtual_ips,
                spec_version: 1,
                ..Default::default()
            }));
            Ok(id)
        })
        .await?;
    read_back(store, &id)
}

pub fn get(store: &Store, query: &str) -> Result<Service, ApiError> {
    Ok(store.view(|t| t.find_service(query).cloned())?)
}

pub fn list(store: &Store) -> Vec<Service> {
    store.view(|t| t.services.values().cloned().collect())
}

/// Applies a new spec, or (`rollback`) swaps back to the previous one.
///
/// `spec_version` is bumped only when what tasks are made of changes (the task template or the
/// allocated ports): the orchestrator replaces every task with a lower version, and scaling or
/// relabelling a service must not restart its tasks.
pub async fn update(store: &Store, req: pc::UpdateServiceRequest) -> Result<Service, ApiError> {
    let new_spec = if req.rollback {
        None
    } else {
        Some(spec_in(req.spec)?)
    };
    let id = store
        .update(|tables, tx| {
            let current = tables.find_service(&req.id)?;
            check_version("service", &current.id, req.version, current.meta.version)?;
            let mut spec = match &new_spec {
                Some(spec) if spec.name != current.spec.name => {
                    return Err(ApiError::InvalidArgument(format!(
                        "invalid spec.name: renaming service `{}` to `{}` is not supported; create a new service and remove this one",
                        current.spec.name, spec.name
                    )))
                }
                Some(spec) => spec.clone(),
                None => current.previous_spec.clone().ok_or_else(|| {
                    ApiError::FailedPrecondition(format!(
                        "service `{}` has no previous spec to roll back to: it was never updated",
                        current.spec.name
                    ))
                })?,
            };
            let virtual_ips = networks::attach(tables, &mut spec, &current.virtual_ips)?;
            data::resolve(tables, &mut spec)?;
            if new_spec.is_some() && spec == current.spec {
                return Ok(current.id.clone());
            }
            let endpoint_ports = allocate_published_ports(tables, &current.id, &spec.endpoint.ports)?;
            let tasks_change =
                spec.task != current.spec.task || endpoint_ports != current.endpoint_ports;
            let mut service = current.clone();
            service.previous_spec = Some(current.spec.clone());
            service.spec = spec;
            service.endpoint_ports = endpoint_ports;
            service.virtual_ips = virtual_ips;
            if tasks_change {
                service.spec_version += 1;
            }
            if req.rollback {
                // Tells the orchestrator to roll out with the rollback config, as SwarmKit does.
                service.update_status = Some(UpdateStatus {
                    state: UpdateState::RollbackStarted,
                    started_at_ms: types::now_ms(),
                    completed_at_ms: 0,
                    message: "manually requested rollback".into(),
                });
            } else if tasks_change {
                // A new rollout starts; the state of the previous one no longer applies.
                service.update_status = None;
            }
            tx.update(Object::Service(service));
            Ok(current.id.clone())
        })
        .await?;
    read_back(store, &id)
}

/// Refuses a write made from a stale read; version 0 means "whatever is current".
pub(super) fn check_version(kind: &str, id: &str, read: u64, stored: u64) -> Result<(), ApiError> {
    if read != 0 && read != stored {
        return Err(StoreError::Conflict {
            kind: kind.into(),
            id: id.into(),
            expected: read,
            actual: stored,
        }
        .into());
    }
    Ok(())
}

/// Deletes the service and marks all its tasks for removal in the same write; the agents stop
/// them and the reaper deletes them.
pub async fn remove(store: &Store, query: &str) -> Result<(), ApiError> {
    store
        .update(|tables, tx| {
            let service = tables.find_service(query)?;
            tx.remove(Kind::Service, service.id.clone());
            for task in tables.tasks_of_service(&service.id) {
                if task.desired_state < TaskState::Remove {
                    let mut task = task.clone();
                    task.desired_state = TaskState::Remove;
                    tx.update(Object::Task(task));
                }
            }
            Ok::<_, ApiError>(())
        })
        .await
}

/// Tasks matching every filter given; services and nodes are named as users name them.
pub fn list_tasks(store: &Store, req: &pc::ListTasksRequest) -> Result<Vec<Task>, ApiError> {
    store.view(|tables| {
        let services = req
            .service_ids
            .iter()
            .map(|q| tables.find_service(q).map(|s| s.id.clone()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let nodes = req
            .node_ids
            .iter()
            .map(|q| tables.find_node(q).map(|n| n.id.clone()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(tables
            .tasks
            .values()
            .filter(|t| services.is_empty() || services.contains(&t.service_id))
            .filter(|t| nodes.is_empty() || nodes.contains(&t.node_id))
            .filter(|t| !req.desired_running_only || t.desired_state == TaskState::Running)
            .cloned()
            .collect())
    })
}
