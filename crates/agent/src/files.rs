//! Secrets and configs on the node: the data the leader sends with the tasks that reference
//! it (kept in memory only), and each task's files, written under a tmpfs this agent mounts
//! (`STATE_DIR/files`, never the node's disk) as `<task ID>/secret-<i>` and `config-<i>`, with
//! the reference's owner and mode. The executor bind-mounts them read-only into the container
//! ([`TaskFiles::path`]). A task's files go when it ends or leaves the node; a restarted agent
//! leaves the files of containers it adopts as they are.

use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use types::{DataKind, DataPayload, Task};

/// Docker's default mode for both.
pub const DEFAULT_MODE: u32 = 0o444;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    /// The leader has not sent the data yet: retry.
    #[error("{0}")]
    NotYet(String),
    #[error("{0}")]
    Failed(String),
}

/// The data received, by kind and object ID.
type Received = HashMap<(DataKind, String), Arc<[u8]>>;

pub struct TaskFiles {
    /// `None`: this node runs no real containers (in-memory executor), so nothing is written.
    root: Option<PathBuf>,
    /// Whether `root` must still be made a tmpfs; `false` in tests, which write to a plain
    /// directory.
    needs_mount: std::sync::atomic::AtomicBool,
    data: Mutex<Received>,
}

impl TaskFiles {
    pub fn new(root: Option<PathBuf>) -> TaskFiles {
        TaskFiles {
            root,
            needs_mount: std::sync::atomic::AtomicBool::new(true),
            data: Mutex::new(HashMap::new()),
        }
    }

    /// Files in a plain directory, for tests without root.
    pub fn unmounted(root: PathBuf) -> TaskFiles {
        let files = TaskFiles::new(Some(root));
        files
            .needs_mount
            .store(false, std::sync::atomic::Ordering::SeqCst);
        files
    }

    /// The file of a task's `index`th reference of `kind`, under `root`.
    pub fn path(root: &Path, task_id: &str, kind: DataKind, index: usize) -> PathBuf {
        root.join(task_id)
            .join(format!("{}-{index}", kind.as_str()))
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// What the leader sent as the whole set this node needs now.
    pub fn replace(&self, payloads: Vec<DataPayload>) {
        let next = payloads
            .into_iter()
            .map(|p| ((p.kind, p.id), Arc::from(p.data)))
            .collect();
        *self.data.lock().expect("lock") = next;
    }

    /// Writes the files of every reference of `task` (again: idempotent).
    pub fn write_for(&self, task: &Task) -> Result<(), FilesError> {
        let Some(root) = &self.root else {
            return Ok(());
        };
        let c = &task.spec.container;
        if c.secrets.is_empty() && c.configs.is_empty() {
            return Ok(());
        }
        let failed = |what: &str, e: std::io::Error| FilesError::Failed(format!("{what}: {e}"));
        if self.needs_mount.load(std::sync::atomic::Ordering::SeqCst) {
            crate::tmpfs::ensure(root).map_err(FilesError::Failed)?;
            self.needs_mount
                .store(false, std::sync::atomic::Ordering::SeqCst);
        }
        let dir = root.join(&task.id);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| failed(&format!("create {}", dir.display()), e))?;
        let data = self.data.lock().expect("lock").clone();
        for (kind, refs) in [
            (DataKind::Secret, &c.secrets),
            (DataKind::Config, &c.configs),
        ] {
            for (i, r) in refs.iter().enumerate() {
                let bytes = data.get(&(kind, r.id.clone())).ok_or_else(|| {
                    FilesError::NotYet(format!(
                        "{} {} not received from the leader yet",
                        kind.as_str(),
                        r.name
                    ))
                })?;
                let path = TaskFiles::path(root, &task.id, kind, i);
                std::fs::write(&path, bytes)
                    .map_err(|e| failed(&format!("write {}", path.display()), e))?;
                let mode = if r.mode == 0 { DEFAULT_MODE } else { r.mode };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| failed(&format!("chmod {}", path.display()), e))?;
                let id = |s: &str| s.parse::<u32>().unwrap_or(0);
                std::os::unix::fs::chown(&path, Some(id(&r.uid)), Some(id(&r.gid)))
                    .map_err(|e| failed(&format!("chown {}", path.display()), e))?;
            }
        }
        Ok(())
    }

    /// Removes a task's files; none is fine.
    pub fn remove_for(&self, task_id: &str) {
        let Some(root) = &self.root else {
            return;
        };
        let dir = root.join(task_id);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(task = task_id, error = %e, "could not remove the task's files");
            }
            _ => {}
        }
    }

    /// Removes the files of every task `keep` says no.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let Some(root) = &self.root else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep(&name) {
                self.remove_for(&name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::DataReference;

    #[test]
    fn files_follow_the_references_and_wait_for_their_data() {
        let dir = tempfile::tempdir().unwrap();
        let files = TaskFiles::unmounted(dir.path().to_path_buf());
        let mut task = Task {
            id: "t1".into(),
            ..Default::default()
        };
        let me = nix::unistd::getuid().as_raw().to_string();
        task.spec.container.secrets = vec![DataReference {
            id: "s1".into(),
            name: "pw".into(),
            target: "pw".into(),
            uid: me.clone(),
            gid: nix::unistd::getgid().as_raw().to_string(),
            mode: 0o400,
        }];
        task.spec.container.configs = vec![DataReference {
            id: "c1".into(),
            name: "conf".into(),
            target: "/etc/app.conf".into(),
            ..Default::default()
        }];
        let e = files.write_for(&task).unwrap_err();
        assert!(
            matches!(e, FilesError::NotYet(ref m) if m.contains("pw")),
            "{e}"
        );
        files.replace(vec![
            DataPayload {
                kind: DataKind::Secret,
                id: "s1".into(),
                data: b"hunter2".to_vec(),
            },
            DataPayload {
                kind: DataKind::Config,
                id: "c1".into(),
                data: b"conf".to_vec(),
            },
        ]);
        if me != "0" {
            // chown to root needs root; give the config this user's IDs too.
            task.spec.container.configs[0].uid = me.clone();
            task.spec.container.configs[0].gid = task.spec.container.secrets[0].gid.clone();
        }
        files.write_for(&task).unwrap();
        let secret = TaskFiles::path(dir.path(), "t1", DataKind::Secret, 0);
        let config = TaskFiles::path(dir.path(), "t1", DataKind::Config, 0);
        assert_eq!(std::fs::read(&secret).unwrap(), b"hunter2");
        assert_eq!(std::fs::read(&config).unwrap(), b"conf");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&secret), mode(&config)), (0o400, DEFAULT_MODE));
        files.retain(|id| id != "t1");
        assert!(!dir.path().join("t1").exists());
        files.remove_for("t1");
        TaskFiles::new(None).write_for(&task).unwrap();
    }
}
