//! [`PendingEngine`]: an [`Executor`] whose engine may not be there yet.
//!
//! A node's role in the cluster (its manager's Raft and control API, its heartbeats) must not
//! depend on its local container engine. The daemon therefore starts with this executor: it
//! connects in the background, retrying with backoff, and until it succeeds every call fails
//! as an engine error, which the agent already treats as "retry later" (and which makes the
//! node's description say the engine is unavailable, so no task is scheduled there).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backoff::Backoff;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use types::Task;

use crate::executor::{
    ContainerStatus, EngineInfo, ExecError, Executor, LogChunk, LogOptions, OwnedContainer,
};

const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PendingEngine {
    engine: watch::Receiver<Option<Arc<dyn Executor>>>,
    /// Why the last attempt failed, for the errors returned meanwhile.
    last_error: Arc<Mutex<String>>,
}

impl PendingEngine {
    /// Calls `connect` until it succeeds (or `shutdown`), with backoff between attempts.
    pub fn connect<F, Fut>(connect: F, shutdown: CancellationToken) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Arc<dyn Executor>, String>> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        let last_error = Arc::new(Mutex::new("not connected yet".to_string()));
        let errors = last_error.clone();
        tokio::spawn(async move {
            let mut wait = Backoff::new(RETRY_MIN, RETRY_MAX);
            let mut attempts = 0u32;
            loop {
                match connect().await {
                    Ok(engine) => {
                        if attempts > 0 {
                            tracing::info!(attempts, "container engine connected");
                        }
                        tx.send_replace(Some(engine));
                        return;
                    }
                    Err(e) => {
                        if attempts == 0 {
                            tracing::warn!(error = %e, "container engine not reachable; retrying in the background");
                        }
                        *errors.lock().expect("lock") = e;
                    }
                }
                attempts += 1;
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait.next_delay()) => {}
                }
            }
        });
        PendingEngine {
            engine: rx,
            last_error,
        }
    }

    fn current(&self) -> Result<Arc<dyn Executor>, ExecError> {
        self.engine.borrow().clone().ok_or_else(|| {
            ExecError::Engine(format!(
                "not connected: {}",
                self.last_error.lock().expect("lock")
            ))
        })
    }
}

impl Executor for PendingEngine {
    fn describe(&self) -> BoxFuture<'_, Result<EngineInfo, ExecError>> {
        Box::pin(async move { self.current()?.describe().await })
    }

    fn prepare<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move { self.current()?.prepare(task).await })
    }

    fn start<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move { self.current()?.start(task_id).await })
    }

    fn inspect<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerStatus>, ExecError>> {
        Box::pin(async move { self.current()?.inspect(task_id).await })
    }

    fn stop<'a>(&'a self, task_id: &'a str, grace_ms: u64) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move { self.current()?.stop(task_id, grace_ms).await })
    }

    fn remove<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>> {
        Box::pin(async move { self.current()?.remove(task_id).await })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<ContainerStatus>, ExecError>> {
        Box::pin(async move { self.current()?.list().await })
    }

    fn owned(&self) -> BoxFuture<'_, Result<Vec<OwnedContainer>, ExecError>> {
        Box::pin(async move { self.current()?.owned().await })
    }

    /// Waits for the engine, then follows its events.
    fn changes(&self) -> BoxStream<'static, String> {
        let mut rx = self.engine.clone();
        async_stream::stream! {
            let engine = loop {
                if let Some(e) = rx.borrow_and_update().clone() {
                    break e;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            };
            let mut changes = engine.changes();
            while let Some(id) = changes.next().await {
                yield id;
            }
        }
        .boxed()
    }

    fn logs<'a>(
        &'a self,
        task_id: &'a str,
        options: LogOptions,
    ) -> BoxStream<'a, Result<LogChunk, ExecError>> {
        match self.current() {
            Ok(engine) => async_stream::stream! {
                let mut lines = engine.logs(task_id, options);
                while let Some(line) = lines.next().await {
                    yield line;
                }
            }
            .boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_executor::TestExecutor;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn fails_as_an_engine_error_until_the_engine_answers_then_delegates() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counted = attempts.clone();
        let engine = TestExecutor::new("n1");
        let inner = engine.clone();
        let stop = CancellationToken::new();
        let pending = PendingEngine::connect(
            move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                let engine = inner.clone();
                async move {
                    if n < 3 {
                        Err(format!("connection refused (attempt {n})"))
                    } else {
                        Ok(Arc::new(engine) as Arc<dyn Executor>)
                    }
                }
            },
            stop.clone(),
        );
        tokio::task::yield_now().await;
        match pending.describe().await {
            Err(ExecError::Engine(e)) => assert!(e.contains("connection refused"), "{e}"),
            other => panic!("expected an engine error, got {other:?}"),
        }
        let mut changes = pending.changes();
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            4,
            "stops retrying once connected"
        );
        assert_eq!(pending.describe().await.unwrap().engine_version, "test");
        assert!(pending.owned().await.unwrap().is_empty());
        // The change stream began before the engine existed and follows it now.
        let mut task = Task {
            id: "t1".into(),
            ..Default::default()
        };
        task.spec.container.image = "busybox".into();
        pending.prepare(&task).await.unwrap();
        pending.start("t1").await.unwrap();
        // First poll: the stream finds the engine and subscribes to its events.
        assert!(futures::poll!(changes.next()).is_pending());
        assert!(engine.kill("t1", 137));
        let changed = tokio::time::timeout(Duration::from_secs(1), changes.next()).await;
        assert_eq!(changed.unwrap().as_deref(), Some("t1"));
        stop.cancel();
    }
}
