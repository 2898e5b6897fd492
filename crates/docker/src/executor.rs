//! [`DockerExecutor`]: the agent's [`Executor`] on a Docker engine, through bollard.
//!
//! Every container it creates carries the task's labels (see [`crate::labels`]); that is all
//! the state it needs, so a fresh executor (swarmd restarted) finds and adopts what an earlier
//! one left running. The task → container map kept here is only a cache in front of a label
//! query: an entry that turns out stale (the container was removed behind our back) is
//! dropped and looked up again.

use agent::executor::{
    ContainerStatus, EngineInfo, ExecError, Executor, LogChunk, LogOptions, OwnedContainer,
};
use bollard::errors::Error as DockerError;
use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
};
use bollard::{Docker, API_DEFAULT_VERSION};
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{BoxStream, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use types::Task;

use crate::errors::{engine, is_not_found, spec_or_engine, status_code, ConnectError};
use crate::translate::{container_config, container_name, grace_seconds};
use crate::{describe, events, image, labels, logs, status};

/// Per request, until Docker answers (streams are not cut by it). Generous because image
/// pulls and container creation on a loaded host can be slow; stops add their grace to it.
const REQUEST_TIMEOUT_SECS: u64 = 120;

pub struct DockerExecutor {
    /// The engine's client; cheap to clone (one connection pool), so streams own a copy.
    docker: Docker,
    /// Written into every container's labels; selects this node's containers.
    node_id: String,
    /// Task ID → container ID, saving a label query on every call for a known task.
    containers: Mutex<HashMap<String, String>>,
    /// Where the agent writes tasks' secret and config files (see `agent::files`).
    files_root: Option<std::path::PathBuf>,
}

impl DockerExecutor {
    /// Connects to the engine at `docker_host` (`unix:///run/docker.sock` or a bare socket
    /// path) and negotiates the API version down to the engine's (1.41 for Docker 20.10).
    pub async fn connect(docker_host: &str, node_id: &str) -> Result<Self, ConnectError> {
        let path = socket_path(docker_host)?;
        let failed = |source| ConnectError::Engine {
            host: docker_host.to_string(),
            source,
        };
        let docker = Docker::connect_with_socket(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            .map_err(failed)?
            .negotiate_version()
            .await
            .map_err(failed)?;
        Ok(Self::with_client(docker, node_id))
    }

    /// An executor over an already configured client.
    pub fn with_client(docker: Docker, node_id: &str) -> Self {
        DockerExecutor {
            docker,
            node_id: node_id.to_string(),
            containers: Mutex::new(HashMap::new()),
            files_root: None,
        }
    }

    /// Binds tasks' secret and config files from this directory (the agent's
    /// `AgentConfig::files_root`).
    pub fn with_files_root(mut self, root: std::path::PathBuf) -> Self {
        self.files_root = Some(root);
        self
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    async fn prepare_task(&self, task: &Task) -> Result<(), ExecError> {
        let found = self.lookup(&task.id).await;
        if found
            .map_err(|err| engine("find container", err))?
            .is_some()
        {
            return Ok(());
        }
        image::ensure_image(&self.docker, &task.spec.container.image).await?;
        let name = container_name(task, &self.node_id);
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let config = container_config(task, &self.node_id, self.files_root.as_deref());
        match self.docker.create_container(Some(options), config).await {
            Ok(created) => {
                self.remember(&task.id, &created.id);
                Ok(())
            }
            // The name is taken: by this task's container (an earlier attempt, or a
            // concurrent one) — reuse it — or by something else, which we must not touch.
            Err(err) if status_code(&err) == Some(409) => self.adopt_by_name(&task.id, &name).await,
            Err(err) => Err(spec_or_engine("create container", err)),
        }
    }

    async fn adopt_by_name(&self, task_id: &str, name: &str) -> Result<(), ExecError> {
        let existing = self
            .docker
            .inspect_container(name, None)
            .await
            .map_err(|err| engine("inspect container", err))?;
        match status::container_status(&existing) {
            Some(found) if found.task_id == task_id => {
                self.remember(task_id, &found.container_id);
                Ok(())
            }
            _ => Err(ExecError::Rejected(format!(
                "container name {name} is taken by a container that is not this task's"
            ))),
        }
    }

    /// Runs `op` on the task's container: the cached one first, then (if that one is gone)
    /// whatever the label query finds. `Ok(None)`: the task has no container.
    async fn on_container<T, F, Fut>(&self, task_id: &str, op: F) -> Result<Option<T>, DockerError>
    where
        F: Fn(Docker, String) -> Fut,
        Fut: Future<Output = Result<T, DockerError>>,
    {
        let cached = self.cache().get(task_id).cloned();
        if let Some(id) = cached {
            match op(self.docker.clone(), id).await {
                Err(err) if is_not_found(&err) => self.forget(task_id),
                done => return done.map(Some),
            }
        }
        let Some(id) = self.lookup(task_id).await? else {
            return Ok(None);
        };
        match op(self.docker.clone(), id).await {
            Err(err) if is_not_found(&err) => {
                self.forget(task_id);
                Ok(None)
            }
            done => done.map(Some),
        }
    }

    /// The task's container by label on the engine (never the cache), cached for next time.
    async fn lookup(&self, task_id: &str) -> Result<Option<String>, DockerError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                labels::node_filter(&self.node_id),
                labels::task_filter(task_id),
            ],
        )]);
        let found = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await?;
        let id = found.into_iter().find_map(|summary| summary.id);
        match &id {
            Some(id) => self.remember(task_id, id),
            None => self.forget(task_id),
        }
        Ok(id)
    }

    fn remember(&self, task_id: &str, container_id: &str) {
        self.cache()
            .insert(task_id.to_string(), container_id.to_string());
    }

    fn forget(&self, task_id: &str) {
        self.cache().remove(task_id);
    }

    /// The map stays usable even if a holder panicked: it is only a cache of facts the
    /// engine can always give again.
    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.containers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn inspect_task(&self, task_id: &str) -> Result<Option<ContainerStatus>, ExecError> {
        let inspected = self
            .on_container(task_id, |docker, id| async move {
                docker.inspect_container(&id, None).await
            })
            .await
            .map_err(|err| engine("inspect container", err))?;
        Ok(inspected.as_ref().and_then(status::container_status))
    }

    /// This node's containers (running or not), from one labelled list call.
    async fn summaries(&self) -> Result<Vec<ContainerSummary>, ExecError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![labels::node_filter(&self.node_id)],
        )]);
        self.docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|err| engine("list containers", err))
    }

    async fn owned_tasks(&self) -> Result<Vec<OwnedContainer>, ExecError> {
        Ok(self
            .summaries()
            .await?
            .into_iter()
            .filter_map(|summary| {
                let task_id = summary.labels?.remove(labels::TASK_ID)?;
                Some(OwnedContainer {
                    task_id,
                    container_id: summary.id?,
                })
            })
            .collect())
    }

    async fn list_tasks(&self) -> Result<Vec<ContainerStatus>, ExecError> {
        let summaries = self.summaries().await?;
        let inspections = summaries
            .into_iter()
            .filter_map(|summary| summary.id)
            .map(|id| async move { self.docker.inspect_container(&id, None).await });
        let mut statuses = Vec::new();
        for inspected in futures::future::join_all(inspections).await {
            match inspected {
                Ok(inspected) => {
                    if let Some(found) = status::container_status(&inspected) {
                        self.remember(&found.task_id, &found.container_id);
                        statuses.push(found);
                    }
                }
                // Removed between the list and the inspect: no longer there to adopt.
                Err(err) if is_not_found(&err) => {}
                Err(err) => return Err(engine("inspect container", err)),
            }
        }
        Ok(statuses)
    }

    async fn start_task(&self, task_id: &str) -> Result<(), ExecError> {
        // 304 (already running) is a success to bollard, which keeps `start` idempotent.
        let started = self
            .on_container(task_id, |docker, id| async move {
                docker.start_container(&id, None).await
            })
            .await
            .map_err(|err| spec_or_engine("start container", err))?;
        started.ok_or_else(|| ExecError::Engine(format!("no container for task {task_id}")))
    }

    async fn stop_task(&self, task_id: &str, grace_ms: u64) -> Result<(), ExecError> {
        let grace = grace_seconds(grace_ms);
        // Docker answers a stop only once the container is gone, up to `grace` later.
        let timeout = Duration::from_secs(REQUEST_TIMEOUT_SECS + grace.unsigned_abs());
        let options = StopContainerOptions {
            t: Some(i32::try_from(grace).unwrap_or(i32::MAX)),
            signal: None,
        };
        self.on_container(task_id, |docker, id| {
            let options = options.clone();
            async move {
                docker
                    .with_timeout(timeout)
                    .stop_container(&id, Some(options))
                    .await
            }
        })
        .await
        .map_err(|err| engine("stop container", err))?;
        Ok(())
    }

    async fn remove_task(&self, task_id: &str) -> Result<(), ExecError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        let removed = self
            .on_container(task_id, |docker, id| {
                let options = options.clone();
                async move { docker.remove_container(&id, Some(options)).await }
            })
            .await;
        match removed {
            // 409: a removal is already in progress; the container is going either way.
            Ok(_) => {}
            Err(err) if status_code(&err) == Some(409) => {}
            Err(err) => return Err(engine("remove container", err)),
        }
        self.forget(task_id);
        Ok(())
    }
}

/// `unix:///path` or `/path` → `/path`.
/// The engine socket a `--docker-host` value names; only local unix sockets are supported.
pub fn socket_path(docker_host: &str) -> Result<&str, ConnectError> {
    match docker_host.strip_prefix("unix://") {
        Some(path) if path.starts_with('/') => Ok(path),
        None if docker_host.starts_with('/') => Ok(docker_host),
        _ => Err(ConnectError::UnsupportedHost(docker_host.to_string())),
    }
}

impl Executor for DockerExecutor {
    fn describe(&self) -> BoxFuture<'_, Result<EngineInfo, ExecError>> {
        describe::engine_info(&self.docker).boxed()
    }

    fn prepare<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<(), ExecError>> {
        self.prepare_task(task).boxed()
    }

    fn start<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>> {
        self.start_task(task_id).boxed()
    }

    fn inspect<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerStatus>, ExecError>> {
        self.inspect_task(task_id).boxed()
    }

    fn stop<'a>(&'a self, task_id: &'a str, grace_ms: u64) -> BoxFuture<'a, Result<(), ExecError>> {
        self.stop_task(task_id, grace_ms).boxed()
    }

    fn remove<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>> {
        self.remove_task(task_id).boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<ContainerStatus>, ExecError>> {
        self.list_tasks().boxed()
    }

    fn owned(&self) -> BoxFuture<'_, Result<Vec<OwnedContainer>, ExecError>> {
        self.owned_tasks().boxed()
    }

    fn changes(&self) -> BoxStream<'static, String> {
        events::task_changes(self.docker.clone(), self.node_id.clone()).boxed()
    }

    fn logs<'a>(
        &'a self,
        task_id: &'a str,
        options: LogOptions,
    ) -> BoxStream<'a, Result<LogChunk, ExecError>> {
        async_stream::stream! {
            match self.lookup(task_id).await {
                // A task that never got a container has no logs.
                Ok(None) => {}
                Ok(Some(id)) => {
                    let mut lines = std::pin::pin!(logs::container_logs(self.docker.clone(), id, options));
                    while let Some(line) = lines.next().await {
                        yield line;
                    }
                }
                Err(err) => yield Err(engine("find container", err)),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hosts_must_be_unix_sockets() {
        assert_eq!(
            socket_path("unix:///run/docker.sock").unwrap(),
            "/run/docker.sock"
        );
        assert_eq!(socket_path("/tmp/d.sock").unwrap(), "/tmp/d.sock");
        for bad in [
            "tcp://127.0.0.1:2375",
            "unix://relative.sock",
            "docker.sock",
        ] {
            assert!(matches!(
                socket_path(bad),
                Err(ConnectError::UnsupportedHost(_))
            ));
        }
    }
}
