//! An in-memory [`Executor`] for tests and in-process clusters: containers "run" until a test
//! kills them, images named `unknown*` or `missing*` do not exist.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use types::{HealthState, Resources, Task};

use crate::executor::{
    ContainerRun, ContainerStatus, EngineInfo, ExecError, Executor, LogChunk, LogOptions,
    LogStream, OwnedContainer,
};

#[derive(Clone)]
pub struct TestExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    hostname: String,
    containers: Mutex<BTreeMap<String, ContainerStatus>>,
    changes: broadcast::Sender<String>,
    next_pid: AtomicU32,
    /// Counts `start` calls, so tests can prove an adopted container was not restarted.
    starts: AtomicU32,
    /// Counts `list` and `owned` calls, so tests can prove sweeps are not made per push.
    lists: AtomicU32,
    /// Every call first waits this long, as a stuck engine (a pull holding dockerd) would.
    stall: Mutex<Duration>,
}

impl TestExecutor {
    pub fn new(hostname: &str) -> Self {
        let (changes, _) = broadcast::channel(1024);
        TestExecutor {
            inner: Arc::new(Inner {
                hostname: hostname.to_string(),
                containers: Mutex::new(BTreeMap::new()),
                changes,
                next_pid: AtomicU32::new(1000),
                starts: AtomicU32::new(0),
                lists: AtomicU32::new(0),
                stall: Mutex::new(Duration::ZERO),
            }),
        }
    }

    /// Makes a running container exit with `code`, as `docker kill` would.
    pub fn kill(&self, task_id: &str, code: i64) -> bool {
        let mut c = self.inner.containers.lock().expect("lock");
        let Some(status) = c.get_mut(task_id) else {
            return false;
        };
        status.run = ContainerRun::Exited(code);
        status.pid = 0;
        drop(c);
        let _ = self.inner.changes.send(task_id.to_string());
        true
    }

    pub fn set_health(&self, task_id: &str, health: HealthState) {
        if let Some(s) = self.inner.containers.lock().expect("lock").get_mut(task_id) {
            s.health = health;
        }
        let _ = self.inner.changes.send(task_id.to_string());
    }

    /// Task IDs whose container is running.
    pub fn running(&self) -> Vec<String> {
        self.inner
            .containers
            .lock()
            .expect("lock")
            .values()
            .filter(|c| c.run == ContainerRun::Running)
            .map(|c| c.task_id.clone())
            .collect()
    }

    pub fn start_count(&self) -> u32 {
        self.inner.starts.load(Ordering::SeqCst)
    }

    pub fn list_count(&self) -> u32 {
        self.inner.lists.load(Ordering::SeqCst)
    }

    /// From now on every engine call waits `d` before it answers.
    pub fn set_stall(&self, d: Duration) {
        *self.inner.stall.lock().expect("lock") = d;
    }

    async fn stalled(&self) {
        let d = *self.inner.stall.lock().expect("lock");
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

impl Executor for TestExecutor {
    fn describe(&self) -> BoxFuture<'_, Result<EngineInfo, ExecError>> {
        Box::pin(async move {
            self.stalled().await;
            Ok(EngineInfo {
                hostname: self.inner.hostname.clone(),
                os: "linux".into(),
                arch: "x86_64".into(),
                resources: Resources {
                    nano_cpus: 4_000_000_000,
                    memory_bytes: 8 << 30,
                },
                engine_version: "test".into(),
                engine_labels: BTreeMap::new(),
            })
        })
    }

    fn prepare<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            self.stalled().await;
            let image = &task.spec.container.image;
            if image.starts_with("unknown") || image.starts_with("missing") {
                return Err(ExecError::Rejected(format!("No such image: {image}")));
            }
            let mut c = self.inner.containers.lock().expect("lock");
            c.entry(task.id.clone()).or_insert_with(|| ContainerStatus {
                task_id: task.id.clone(),
                container_id: format!("c-{}", task.id),
                run: ContainerRun::Created,
                health: HealthState::None,
                pid: 0,
                error: String::new(),
            });
            Ok(())
        })
    }

    fn start<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            self.stalled().await;
            let mut c = self.inner.containers.lock().expect("lock");
            let Some(s) = c.get_mut(task_id) else {
                return Err(ExecError::Engine(format!(
                    "no container for task {task_id}"
                )));
            };
            if s.run != ContainerRun::Running {
                s.run = ContainerRun::Running;
                s.pid = self.inner.next_pid.fetch_add(1, Ordering::SeqCst);
                self.inner.starts.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })
    }

    fn inspect<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerStatus>, ExecError>> {
        Box::pin(async move {
            self.stalled().await;
            Ok(self
                .inner
                .containers
                .lock()
                .expect("lock")
                .get(task_id)
                .cloned())
        })
    }

    fn stop<'a>(
        &'a self,
        task_id: &'a str,
        _grace_ms: u64,
    ) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            self.stalled().await;
            if let Some(s) = self.inner.containers.lock().expect("lock").get_mut(task_id) {
                if s.run == ContainerRun::Running {
                    s.run = ContainerRun::Exited(0);
                    s.pid = 0;
                }
            }
            Ok(())
        })
    }

    fn remove<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move {
            self.stalled().await;
            self.inner.containers.lock().expect("lock").remove(task_id);
            Ok(())
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<ContainerStatus>, ExecError>> {
        Box::pin(async move {
            self.stalled().await;
            self.inner.lists.fetch_add(1, Ordering::SeqCst);
            Ok(self
                .inner
                .containers
                .lock()
                .expect("lock")
                .values()
                .cloned()
                .collect())
        })
    }

    /// What `list` finds, named only (a real engine answers this from one list call).
    fn owned(&self) -> BoxFuture<'_, Result<Vec<OwnedContainer>, ExecError>> {
        Box::pin(async move {
            let listed = self.list().await?;
            Ok(listed
                .into_iter()
                .map(|c| OwnedContainer {
                    task_id: c.task_id,
                    container_id: c.container_id,
                })
                .collect())
        })
    }

    fn changes(&self) -> BoxStream<'static, String> {
        BroadcastStream::new(self.inner.changes.subscribe())
            .filter_map(|r| async move { r.ok() })
            .boxed()
    }

    fn logs<'a>(
        &'a self,
        task_id: &'a str,
        _options: LogOptions,
    ) -> BoxStream<'a, Result<LogChunk, ExecError>> {
        let line = format!("task {task_id} on {}", self.inner.hostname).into_bytes();
        futures::stream::iter(vec![Ok(LogChunk {
            timestamp_ms: types::now_ms(),
            stream: LogStream::Stdout,
            line,
        })])
        .boxed()
    }
}
