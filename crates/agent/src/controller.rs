//! One task's controller: drives its container from the assignment towards the desired state,
//! step by step, and reports every state it reaches.
//!
//! `Accepted → Preparing → Ready → Starting → Running`, then `Complete` / `Failed` /
//! `Rejected`; when the desired state leaves `Running`, a drain delay (so every node has
//! dropped the task from its mesh) then stop, and `Shutdown`. Every step is idempotent, so a
//! restarted agent re-drives a task from what the engine says: a container found running is
//! adopted, never restarted.

use std::sync::Arc;
use std::time::Duration;

use backoff::Backoff;
use tokio::sync::{mpsc, watch, Notify};
use types::{HealthState, Task, TaskState, TaskStatus};

use crate::executor::{ContainerRun, ContainerStatus, ExecError, Executor};
use crate::network::NodeNetwork;

/// How often a running container is inspected even without an engine event.
const POLL: Duration = Duration::from_secs(2);
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What every controller of a node shares.
pub struct ControllerContext {
    pub executor: Arc<dyn Executor>,
    pub network: Arc<dyn NodeNetwork>,
    pub reports: mpsc::UnboundedSender<(String, TaskStatus)>,
    /// Time between a task leaving the mesh and its container being stopped.
    pub drain_delay: Duration,
    /// Its secret and config files.
    pub files: Arc<crate::files::TaskFiles>,
    /// Where task starts and failures are counted, for `GET /metrics`.
    pub metrics: metrics::Metrics,
}

/// The agent's handle on a running controller.
pub struct ControllerHandle {
    /// Latest assignment of the task; `None` = no longer assigned: clean up and exit.
    pub task: watch::Sender<Option<Task>>,
    /// Woken by engine events about the task's container.
    pub poke: Arc<Notify>,
}

impl ControllerHandle {
    pub fn spawn(ctx: Arc<ControllerContext>, task: Task) -> Self {
        let (tx, rx) = watch::channel(Some(task));
        let poke = Arc::new(Notify::new());
        tokio::spawn(Controller::new(ctx, rx, poke.clone()).run());
        ControllerHandle { task: tx, poke }
    }
}

struct Controller {
    ctx: Arc<ControllerContext>,
    rx: watch::Receiver<Option<Task>>,
    poke: Arc<Notify>,
    status: TaskStatus,
    /// The last assignment seen, to clean up after the task is unassigned.
    last: Option<Task>,
    attached: bool,
    backoff: Backoff,
}

enum Step {
    /// Go on at once with the next step.
    Continue,
    /// Nothing to do until the assignment changes, the engine reports, or the poll fires.
    Wait,
    /// The engine failed; retry after a backoff.
    Retry,
}

impl Controller {
    fn new(
        ctx: Arc<ControllerContext>,
        rx: watch::Receiver<Option<Task>>,
        poke: Arc<Notify>,
    ) -> Self {
        let status = rx
            .borrow()
            .as_ref()
            .map(|t| t.status.clone())
            .unwrap_or_default();
        Controller {
            ctx,
            rx,
            poke,
            status,
            last: None,
            attached: false,
            backoff: Backoff::new(MIN_BACKOFF, MAX_BACKOFF),
        }
    }

    async fn run(mut self) {
        loop {
            let Some(task) = self.rx.borrow_and_update().clone() else {
                return self.forget().await;
            };
            // After a restart the store may know more than we do.
            if task.status.state > self.status.state {
                self.status = task.status.clone();
            }
            self.last = Some(task.clone());
            let step = if task.desired_state > TaskState::Running {
                self.leave(&task).await
            } else {
                self.advance(&task).await
            };
            match step {
                Step::Continue => continue,
                Step::Wait => self.wait(POLL).await,
                Step::Retry => {
                    let delay = self.backoff.next_delay();
                    self.wait(delay).await;
                }
            }
        }
    }

    async fn wait(&mut self, timeout: Duration) {
        tokio::select! {
            _ = self.rx.changed() => {}
            _ = self.poke.notified() => {}
            _ = tokio::time::sleep(timeout) => {}
        }
    }

    fn report(&mut self, task: &Task, state: TaskState, message: &str, err: &str) {
        self.status.state = state;
        self.status.message = message.to_string();
        self.status.err = err.to_string();
        self.status.timestamp_ms = types::now_ms();
        match state {
            TaskState::Failed => self.ctx.metrics.task_failed("failed"),
            TaskState::Rejected => self.ctx.metrics.task_failed("rejected"),
            _ => {}
        }
        let _ = self
            .ctx
            .reports
            .send((task.id.clone(), self.status.clone()));
    }

    fn engine_failed(&mut self, task: &Task, e: ExecError) -> Step {
        match e {
            ExecError::Rejected(msg) => {
                self.report(task, TaskState::Rejected, "rejected", &msg);
                Step::Wait
            }
            ExecError::Engine(msg) => {
                tracing::warn!(task = %task.id, error = %msg, "container engine failed; retrying");
                Step::Retry
            }
        }
    }

    async fn advance(&mut self, task: &Task) -> Step {
        let exec = self.ctx.executor.clone();
        match self.status.state {
            s if s < TaskState::Accepted => {
                self.report(task, TaskState::Accepted, "accepted", "");
                Step::Continue
            }
            TaskState::Accepted | TaskState::Preparing => {
                if self.status.state == TaskState::Accepted {
                    if let Err(reason) =
                        crate::host_ports::check_free(task, self.ctx.network.as_ref())
                    {
                        self.report(task, TaskState::Rejected, "rejected", &reason);
                        return Step::Wait;
                    }
                    self.report(task, TaskState::Preparing, "preparing", "");
                }
                match self.ctx.files.write_for(task) {
                    Ok(()) => {}
                    Err(crate::files::FilesError::NotYet(why)) => {
                        tracing::info!(task = %task.id, "waiting: {why}");
                        return Step::Retry;
                    }
                    Err(crate::files::FilesError::Failed(why)) => {
                        self.report(task, TaskState::Rejected, "rejected", &why);
                        return Step::Wait;
                    }
                }
                match exec.prepare(task).await {
                    Ok(()) => {
                        self.report(task, TaskState::Ready, "prepared", "");
                        Step::Continue
                    }
                    Err(e) => self.engine_failed(task, e),
                }
            }
            TaskState::Ready => match exec.start(&task.id).await {
                Ok(()) => {
                    self.ctx.metrics.task_started();
                    self.report(task, TaskState::Starting, "starting", "");
                    Step::Continue
                }
                Err(e) => self.engine_failed(task, e),
            },
            TaskState::Starting | TaskState::Running => self.supervise(task).await,
            _ => Step::Wait, // ended: the orchestrator decides what comes next
        }
    }

    /// Watches a started container: plumbs it once running, notices exits and health.
    async fn supervise(&mut self, task: &Task) -> Step {
        let inspected = match self.ctx.executor.inspect(&task.id).await {
            Ok(c) => c,
            Err(e) => return self.engine_failed(task, e),
        };
        let Some(c) = inspected else {
            self.report(
                task,
                TaskState::Failed,
                "failed",
                "the task's container no longer exists",
            );
            return Step::Wait;
        };
        match c.run {
            ContainerRun::Exited(code) => {
                self.finished(task, &c, code).await;
                Step::Wait
            }
            ContainerRun::Created => {
                // Adopting a task whose container was created but never started.
                match self.ctx.executor.start(&task.id).await {
                    Ok(()) => {
                        self.ctx.metrics.task_started();
                        Step::Continue
                    }
                    Err(e) => self.engine_failed(task, e),
                }
            }
            ContainerRun::Running => self.running(task, c).await,
        }
    }

    async fn running(&mut self, task: &Task, c: ContainerStatus) -> Step {
        if !self.attached {
            if let Err(e) = self.ctx.network.attach(task, c.pid).await {
                tracing::warn!(task = %task.id, error = %e, "could not plumb the task's network");
                return Step::Retry;
            }
            self.attached = true;
        }
        self.backoff.reset();
        if c.health == HealthState::Unhealthy {
            let grace = task.spec.container.stop_grace_period_ms;
            let _ = self.ctx.executor.stop(&task.id, grace).await;
            self.detach(task).await;
            self.status.health = HealthState::Unhealthy;
            self.report(
                task,
                TaskState::Failed,
                "failed",
                "task: unhealthy container",
            );
            return Step::Wait;
        }
        let changed = self.status.state != TaskState::Running
            || self.status.health != c.health
            || self.status.container_id != c.container_id;
        if changed {
            self.status.health = c.health;
            self.status.container_id = c.container_id.clone();
            self.report(task, TaskState::Running, "started", "");
        }
        Step::Wait
    }

    async fn finished(&mut self, task: &Task, c: &ContainerStatus, code: i64) {
        self.detach(task).await;
        self.status.exit_code = code;
        self.status.container_id = c.container_id.clone();
        if code == 0 {
            self.report(task, TaskState::Complete, "finished", "");
        } else {
            let err = if c.error.is_empty() {
                format!("task: non-zero exit ({code})")
            } else {
                format!("task: non-zero exit ({code}): {}", c.error)
            };
            self.report(task, TaskState::Failed, "failed", &err);
        }
    }

    /// The desired state left `Running`: drain, stop, report `Shutdown`.
    async fn leave(&mut self, task: &Task) -> Step {
        if self.status.state > TaskState::Running {
            return Step::Wait;
        }
        if self.status.state >= TaskState::Starting {
            // Every node drops the task from its mesh when the desired state changes; give
            // them time before connections to it start failing.
            tokio::time::sleep(self.ctx.drain_delay).await;
        }
        if self.status.state >= TaskState::Preparing {
            let grace = task.spec.container.stop_grace_period_ms;
            if let Err(e) = self.ctx.executor.stop(&task.id, grace).await {
                return self.engine_failed(task, e);
            }
        }
        self.detach(task).await;
        self.report(task, TaskState::Shutdown, "shutdown", "");
        Step::Wait
    }

    /// The task's container has ended (or is going): its interfaces and files go with it.
    async fn detach(&mut self, task: &Task) {
        if let Err(e) = self.ctx.network.detach(&task.id).await {
            tracing::warn!(task = %task.id, error = %e, "could not unplumb the task's network");
        }
        self.ctx.files.remove_for(&task.id);
        self.attached = false;
    }

    /// The task is no longer assigned to this node: remove all trace of it.
    async fn forget(mut self) {
        let Some(task) = self.last.take() else {
            return;
        };
        let exec = self.ctx.executor.clone();
        let grace = task.spec.container.stop_grace_period_ms;
        let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
        for _ in 0..5 {
            let stopped = exec.stop(&task.id, grace).await;
            let removed = exec.remove(&task.id).await;
            if stopped.is_ok() && removed.is_ok() {
                break;
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
        self.detach(&task).await;
    }
}
