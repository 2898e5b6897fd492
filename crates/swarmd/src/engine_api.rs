//! The Docker Engine API socket, so the `docker` CLI works against the node: on every node
//! (`--engine-api`, default `STATE_DIR/docker.sock`, mode 0660 as dockerd's own). Managers
//! answer the swarm routes through their control API, workers answer them 503 as docker does;
//! container and image routes go to the node's engine (`--docker-host`) on both.
//!
//! It is served with the node's other servers, so a promotion or demotion rebuilds it with or
//! without the control API, like the control socket.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use engineapi::Engine;
use tokio::net::UnixListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{ExecutorKind, Flags, Identity};

/// The socket's name in the state directory, by default.
pub const SOCKET_NAME: &str = "docker.sock";

/// `--engine-api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineApiFlag {
    Unix(PathBuf),
    None,
}

pub fn parse_flag(s: &str) -> Result<EngineApiFlag, String> {
    if s == "none" {
        return Ok(EngineApiFlag::None);
    }
    match s.strip_prefix("unix://") {
        Some(path) if path.starts_with('/') => Ok(EngineApiFlag::Unix(path.into())),
        _ => Err(format!(
            "`{s}` is not a unix socket: give unix:///PATH (an absolute path) or none"
        )),
    }
}

/// Where the Engine API listens; `None` with `--engine-api none`.
pub fn socket(flags: &Flags) -> Option<PathBuf> {
    match &flags.engine_api {
        None => Some(flags.state_dir.join(SOCKET_NAME)),
        Some(EngineApiFlag::Unix(path)) => Some(path.clone()),
        Some(EngineApiFlag::None) => None,
    }
}

/// The engine that container routes go to: the one the node runs its tasks on. A test
/// executor has none (its containers live in memory).
pub fn engine_socket(identity: &Identity) -> Option<PathBuf> {
    match identity.executor {
        ExecutorKind::Test => None,
        ExecutorKind::Docker => docker::socket_path(&identity.docker_host)
            .ok()
            .map(PathBuf::from),
    }
}

/// Binds `path` and serves `engine` there until `stop` (open connections are
/// closed soon after).
pub fn serve(path: &Path, engine: Engine, stop: CancellationToken) -> Result<JoinHandle<()>> {
    let listener = bind(path, engine.engine_socket())?;
    tracing::info!(
        socket = %path.display(),
        manager = engine.is_manager(),
        engine = ?engine.engine_socket(),
        "serving the Docker Engine API"
    );
    let server = engineapi::serve(listener, engine, stop.clone());
    Ok(crate::server::spawn_bounded("the Engine API", server, stop))
}

/// Replaces a socket left by an earlier run; refuses to replace anything else.
fn bind(path: &Path, engine: Option<&Path>) -> Result<UnixListener> {
    if engine.is_some_and(|engine| same_socket(path, engine)) {
        bail!(
            "--engine-api {} is the container engine's own socket (--docker-host); give swarmd's \
             Engine API another path",
            path.display()
        );
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the old socket {}", path.display()))?,
        Ok(_) => bail!(
            "{} exists and is not a socket; remove it or pick another --engine-api",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {} for --engine-api", dir.display()))?;
    }
    let listener = UnixListener::bind(path).with_context(|| {
        format!(
            "cannot create the Engine API socket {}; pick another --engine-api or pass \
             --engine-api none",
            path.display()
        )
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(listener)
}

/// The same path, or the same file reached another way (`/var/run` is `/run`).
fn same_socket(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::try_parse_from(std::iter::once("swarmd").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_socket_is_in_the_state_dir_unless_told_otherwise() {
        let f = flags(&["--state-dir", "/tmp/n1"]);
        assert_eq!(socket(&f), Some(PathBuf::from("/tmp/n1/docker.sock")));
        let f = flags(&["--engine-api", "unix:///run/swarmd/docker.sock"]);
        assert_eq!(socket(&f), Some(PathBuf::from("/run/swarmd/docker.sock")));
        assert_eq!(socket(&flags(&["--engine-api", "none"])), None);
        for bad in [
            "tcp://0.0.0.0:2375",
            "unix://docker.sock",
            "/run/docker.sock",
        ] {
            let arg = format!("--engine-api={bad}");
            let e = Flags::try_parse_from(["swarmd", arg.as_str()]).unwrap_err();
            assert!(e.to_string().contains("unix:///PATH"), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn an_old_socket_is_replaced_and_the_new_one_is_0660() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        drop(UnixListener::bind(&path).unwrap()); // left by a killed run
        let _listener = bind(&path, None).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    }

    #[tokio::test]
    async fn other_files_and_the_engines_own_socket_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "keep me").unwrap();
        let e = bind(&file, None).unwrap_err().to_string();
        assert!(e.contains("is not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

        let engine = dir.path().join("dockerd.sock");
        let _dockerd = UnixListener::bind(&engine).unwrap();
        let e = bind(&engine, Some(&engine)).unwrap_err().to_string();
        assert!(e.contains("the container engine's own socket"), "{e}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        let e = bind(&link.join("dockerd.sock"), Some(&engine))
            .unwrap_err()
            .to_string();
        assert!(e.contains("the container engine's own socket"), "{e}");
    }
}
