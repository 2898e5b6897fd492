//! Secrets and configs: create (a secret sealed with the cluster's data key in the same write),
//! list, get, update (labels only), remove (refused while a service references it); and a
//! service's references: names resolved to IDs.

use api::control as pc;
use store::{Kind, Object, Store, Tables};
use types::convert::secret::kind_in;
use types::validate::validate_data_spec;
use types::{Cluster, DataKind, DataObject, DataSpec, ServiceSpec};

use super::error::ApiError;
use super::services::check_version;

pub fn list(store: &Store, kind: DataKind) -> Vec<DataObject> {
    store.view(|t| {
        t.data
            .values()
            .filter(|d| d.kind == kind)
            .cloned()
            .collect()
    })
}

/// One by ID, name or unique ID prefix.
pub fn get(store: &Store, kind: DataKind, query: &str) -> Result<DataObject, ApiError> {
    Ok(store.view(|t| t.find_data(kind, query).cloned())?)
}

pub async fn create(store: &Store, req: pc::CreateDataRequest) -> Result<DataObject, ApiError> {
    let kind = kind_in(req.kind)?;
    let spec = DataSpec::from(req.spec.ok_or_else(|| {
        ApiError::InvalidArgument(format!(
            "spec is missing; send the {}'s spec",
            kind.as_str()
        ))
    })?);
    validate_data_spec(kind, &spec)?;
    let what = kind.as_str();
    let id = store
        .update(|tables, tx| {
            if let Some(other) = tables
                .data
                .values()
                .find(|d| d.kind == kind && d.spec.name == spec.name)
            {
                return Err(ApiError::AlreadyExists(format!(
                    "a {what} named `{}` already exists ({}); {what}s cannot change: create `{}-v2` and move services to it with `swarmctl service update --{what}-rm {} --{what}-add {}-v2`",
                    spec.name, other.id, spec.name, spec.name, spec.name
                )));
            }
            let mut spec = spec.clone();
            if kind == DataKind::Secret {
                let key = data_key(tables, tx)?;
                spec.data = security::seal::seal(&key, &spec.data)
                    .map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
            }
            let id = types::new_id();
            tx.create(Object::Data(DataObject {
                id: id.clone(),
                meta: Default::default(),
                kind,
                spec,
            }));
            Ok(id)
        })
        .await?;
    store
        .view(|t| t.data.get(&id).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("{what} {id} was removed meanwhile")))
}

/// The cluster's data key; a cluster made before secrets existed gets one in this write.
fn data_key(tables: &Tables, tx: &mut store::Tx) -> Result<types::Redacted, ApiError> {
    let cluster: &Cluster = tables
        .cluster()
        .ok_or_else(|| ApiError::FailedPrecondition("this manager has no cluster yet".into()))?;
    if !cluster.data_key.is_empty() {
        return Ok(cluster.data_key.clone());
    }
    let key =
        security::seal::new_data_key().map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
    let mut updated = cluster.clone();
    updated.data_key = key.clone();
    tx.update(Object::Cluster(updated));
    Ok(key)
}

/// Changes an object's labels. Its name and data are fixed for life (docker's rule, so a task
/// never sees its secret change under it); the request carries them as stored, or empty.
pub async fn update(store: &Store, req: pc::UpdateDataRequest) -> Result<DataObject, ApiError> {
    let kind = kind_in(req.kind)?;
    let what = kind.as_str();
    let asked = DataSpec::from(req.spec.ok_or_else(|| {
        ApiError::InvalidArgument(format!(
            "spec is missing; send the {what}'s spec as read, with the labels changed"
        ))
    })?);
    let id = store
        .update(|tables, tx| {
            let object = tables.find_data(kind, &req.id)?;
            check_version(what, &object.id, req.version, object.meta.version)?;
            let name = &object.spec.name;
            if !asked.name.is_empty() && asked.name != *name {
                return Err(ApiError::InvalidArgument(format!(
                    "invalid spec.name: only updates to Labels are allowed; a {what}'s name cannot change: create a {what} named `{}` instead",
                    asked.name
                )));
            }
            let stored = plain_data(tables, object)?;
            if !asked.data.is_empty() && asked.data != stored {
                return Err(ApiError::InvalidArgument(format!(
                    "invalid spec.data: only updates to Labels are allowed; a {what}'s data cannot change: create `{name}-v2` and move services to it with `swarmctl service update --{what}-rm {name} --{what}-add {name}-v2`"
                )));
            }
            let wanted = DataSpec {
                name: name.clone(),
                labels: asked.labels.clone(),
                data: stored,
            };
            validate_data_spec(kind, &wanted)?;
            if wanted.labels != object.spec.labels {
                let mut updated = object.clone();
                updated.spec.labels = wanted.labels;
                tx.update(Object::Data(updated));
            }
            Ok(object.id.clone())
        })
        .await?;
    store
        .view(|t| t.data.get(&id).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("{what} {id} was removed meanwhile")))
}

/// An object's data as the user gave it: a secret's is opened with the cluster's data key.
fn plain_data(tables: &Tables, object: &DataObject) -> Result<Vec<u8>, ApiError> {
    if object.kind == DataKind::Config {
        return Ok(object.spec.data.clone());
    }
    let key = tables
        .cluster()
        .map(|c| &c.data_key)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::FailedPrecondition("the cluster has no data key to open secrets with".into())
        })?;
    security::seal::open(key, &object.spec.data)
        .map_err(|e| ApiError::FailedPrecondition(format!("secret {}: {e}", object.id)))
}

pub async fn remove(store: &Store, kind: DataKind, query: &str) -> Result<(), ApiError> {
    store
        .update(|tables, tx| {
            let object = tables.find_data(kind, query)?;
            let what = kind.as_str();
            let users: Vec<&str> = tables
                .services
                .values()
                .filter(|s| references(&s.spec, kind).any(|r| r.id == object.id))
                .map(|s| s.spec.name.as_str())
                .collect();
            if !users.is_empty() {
                return Err(ApiError::FailedPrecondition(format!(
                    "{what} `{}` is in use by service(s) {}; remove it from them first with `swarmctl service update --{what}-rm {} SERVICE`",
                    object.spec.name,
                    users.join(", "),
                    object.spec.name
                )));
            }
            tx.remove(Kind::Data, object.id.clone());
            Ok(())
        })
        .await
}

fn references(spec: &ServiceSpec, kind: DataKind) -> impl Iterator<Item = &types::DataReference> {
    let c = &spec.task.container;
    match kind {
        DataKind::Secret => c.secrets.iter(),
        DataKind::Config => c.configs.iter(),
    }
}

/// Resolves a spec's secret and config names (or ID prefixes) to the stored objects' IDs,
/// keeping each one's name beside it.
pub fn resolve(tables: &Tables, spec: &mut ServiceSpec) -> Result<(), ApiError> {
    let c = &mut spec.task.container;
    for (kind, refs) in [
        (DataKind::Secret, &mut c.secrets),
        (DataKind::Config, &mut c.configs),
    ] {
        for (i, r) in refs.iter_mut().enumerate() {
            let what = kind.as_str();
            let object = tables.find_data(kind, &r.id).map_err(|e| {
                ApiError::InvalidArgument(format!(
                    "invalid spec.task.container.{what}s[{i}]: {e}; create it with `swarmctl {what} create {} FILE`",
                    r.id
                ))
            })?;
            r.id = object.id.clone();
            r.name = object.spec.name.clone();
        }
    }
    Ok(())
}

/// Wire kind of a request, for the handlers.
pub fn kind_of(value: i32) -> Result<DataKind, ApiError> {
    Ok(kind_in(value)?)
}
