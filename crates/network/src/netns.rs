//! Running code inside another network namespace. A netlink socket (and `nft`, and
//! /proc/sys/net) acts on the namespace of the thread that created or opened it, so work for
//! a container's namespace runs on a fresh thread that has `setns`'d into it and builds its
//! own runtime and rtnetlink connection there. The calling thread never changes namespace.

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};
use tokio::sync::oneshot;

use crate::error::{DataplaneError, Result};

/// `/proc/PID/ns/net`: a container's namespace, by the PID of any process inside it.
pub fn path_of_pid(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/net"))
}

/// Moves the calling thread into the network namespace at `path`. Only for threads created
/// for that purpose: the thread stays there.
pub fn enter(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(DataplaneError::io(format!("open {}", path.display())))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| DataplaneError::Io {
        context: format!("setns into {}", path.display()),
        source: std::io::Error::from(e),
    })
}

/// Runs `work` on a dedicated thread inside the namespace at `path`, with a current-thread
/// runtime and an rtnetlink handle bound to that namespace; resolves with its result.
pub async fn run_in<F, Fut, T>(path: PathBuf, work: F) -> Result<T>
where
    F: FnOnce(rtnetlink::Handle) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("swarmd-netns".into())
        .spawn(move || {
            let _ = tx.send(run_here(&path, work));
        })
        .map_err(DataplaneError::io("spawn netns thread"))?;
    rx.await
        .map_err(|_| DataplaneError::NotReady("netns worker thread panicked".into()))?
}

fn run_here<F, Fut, T>(path: &Path, work: F) -> Result<T>
where
    F: FnOnce(rtnetlink::Handle) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    enter(path)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DataplaneError::io("build netns runtime"))?;
    rt.block_on(async {
        let handle = connect()?;
        work(handle).await
    })
}

/// A new rtnetlink connection bound to the calling thread's current namespace; must be
/// called inside a tokio runtime (the connection task is spawned on it).
pub fn connect() -> Result<rtnetlink::Handle> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(DataplaneError::io("open rtnetlink socket"))?;
    tokio::spawn(conn);
    Ok(handle)
}
