//! The supervisor with components that panic, fail, quit or ignore cancellation. Time is
//! paused: backoffs and grace periods pass at once, in order.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::restarts::MAX_FAILURES;
use super::supervisor::STOP_GRACE;
use super::{Component, Escalation, Exit, Failure, Supervisor};

/// Far longer than anything here takes in (paused) time: only a stuck supervisor reaches it.
const BOUND: Duration = Duration::from_secs(600);

/// Sets its flag when dropped: a component's run ended (returned or was aborted).
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// Runs until cancelled; `stopped` is set when its run ends.
fn steady(name: &'static str, started: Arc<Notify>, stopped: Arc<AtomicBool>) -> Component {
    Component::infallible(name, move |token: CancellationToken| {
        let guard = SetOnDrop(stopped.clone());
        let started = started.clone();
        async move {
            let _guard = guard;
            started.notify_one();
            token.cancelled().await
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_component_that_panics_twice_is_restarted_and_runs() {
    let starts = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(Notify::new());
    let flaky = Component::infallible("flaky", {
        let (starts, running) = (starts.clone(), running.clone());
        move |token: CancellationToken| {
            let n = starts.fetch_add(1, SeqCst) + 1;
            let running = running.clone();
            async move {
                if n <= 2 {
                    panic!("injected panic {n}");
                }
                running.notify_one();
                token.cancelled().await
            }
        }
    });
    let shutdown = CancellationToken::new();
    let supervisor = tokio::spawn(Supervisor::new(vec![flaky]).run(shutdown.clone()));

    tokio::time::timeout(BOUND, running.notified())
        .await
        .expect("the third run starts");
    assert_eq!(starts.load(SeqCst), 3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!supervisor.is_finished(), "two panics do not escalate");
    assert_eq!(starts.load(SeqCst), 3, "the healthy run is left alone");

    shutdown.cancel();
    assert_eq!(supervisor.await.unwrap(), Exit::Stopped);
}

#[tokio::test(start_paused = true)]
async fn a_component_that_keeps_failing_escalates_and_stops_the_others() {
    let starts = Arc::new(AtomicUsize::new(0));
    let failing = Component::new("failing", {
        let starts = starts.clone();
        move |_token| {
            starts.fetch_add(1, SeqCst);
            async { Err::<(), _>("store unreachable") }
        }
    });
    let stopped = Arc::new(AtomicBool::new(false));
    let other = steady("other", Arc::new(Notify::new()), stopped.clone());

    let exit = tokio::time::timeout(
        BOUND,
        Supervisor::new(vec![failing, other]).run(CancellationToken::new()),
    )
    .await
    .expect("escalates");

    assert_eq!(
        exit,
        Exit::Escalated(Escalation {
            component: "failing",
            failures: MAX_FAILURES,
            last: Failure::Failed("store unreachable".into()),
        })
    );
    assert_eq!(starts.load(SeqCst), MAX_FAILURES);
    assert!(
        stopped.load(SeqCst),
        "the healthy component was stopped too"
    );
}

#[tokio::test(start_paused = true)]
async fn panics_and_early_returns_count_as_failures() {
    let panicking = Component::infallible("panicking", |_token| async {
        panic!("index out of bounds");
    });
    let exit = Supervisor::new(vec![panicking])
        .run(CancellationToken::new())
        .await;
    let Exit::Escalated(why) = exit else {
        panic!("{exit:?}")
    };
    assert_eq!(why.last, Failure::Panicked("index out of bounds".into()));

    let quitter = Component::infallible("quitter", |_token| async {});
    let exit = Supervisor::new(vec![quitter])
        .run(CancellationToken::new())
        .await;
    let Exit::Escalated(why) = exit else {
        panic!("{exit:?}")
    };
    assert_eq!((why.component, why.last), ("quitter", Failure::Returned));
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_every_component_and_restarts_none() {
    let started = Arc::new(Notify::new());
    let (a_stopped, b_stopped) = (Arc::new(AtomicBool::new(false)), Arc::default());
    let a = steady("a", started.clone(), a_stopped.clone());
    let b = steady("b", started.clone(), Arc::clone(&b_stopped));
    // Waiting out a backoff when the supervisor is cancelled.
    let flaky_starts = Arc::new(AtomicUsize::new(0));
    let flaky = Component::infallible("flaky", {
        let starts = flaky_starts.clone();
        move |_token| {
            starts.fetch_add(1, SeqCst);
            async { panic!("injected") }
        }
    });
    let shutdown = CancellationToken::new();
    let supervisor = tokio::spawn(Supervisor::new(vec![a, b, flaky]).run(shutdown.clone()));
    for _ in 0..2 {
        tokio::time::timeout(BOUND, started.notified())
            .await
            .expect("started");
    }
    tokio::task::yield_now().await;

    shutdown.cancel();
    shutdown.cancel();
    assert_eq!(supervisor.await.unwrap(), Exit::Stopped);
    assert!(a_stopped.load(SeqCst) && b_stopped.load(SeqCst));
    let starts = flaky_starts.load(SeqCst);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        flaky_starts.load(SeqCst),
        starts,
        "nothing restarts after the stop"
    );
}

#[tokio::test(start_paused = true)]
async fn a_component_that_ignores_cancellation_is_aborted_after_the_grace_period() {
    let ended = Arc::new(AtomicBool::new(false));
    let stubborn = Component::infallible("stubborn", {
        let ended = ended.clone();
        move |_token| {
            let guard = SetOnDrop(ended.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await
            }
        }
    });
    let shutdown = CancellationToken::new();
    let supervisor = tokio::spawn(Supervisor::new(vec![stubborn]).run(shutdown.clone()));
    tokio::task::yield_now().await;

    let cancelled = tokio::time::Instant::now();
    shutdown.cancel();
    assert_eq!(supervisor.await.unwrap(), Exit::Stopped);
    assert!(ended.load(SeqCst), "aborted");
    assert!(
        cancelled.elapsed() >= STOP_GRACE,
        "given the grace period first"
    );
}
