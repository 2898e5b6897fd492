//! The tmpfs tasks' secret and config files live on (see [`crate::files`]): mounted the first
//! time a task needs it (so a node that never runs one mounts nothing), mode 0700,
//! `nosuid,nodev,noexec`, and left mounted when swarmd stops, so the containers a restarted
//! swarmd adopts keep their files. Nothing there ever reaches the node's disk.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

/// Room for ~130 secrets of the 500 KiB maximum; tmpfs takes memory only for what is written.
const SIZE: &str = "64m";

/// Makes `dir` a tmpfs mount point unless it is one already.
pub fn ensure(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let dir: PathBuf = dir
        .canonicalize()
        .map_err(|e| format!("resolving {}: {e}", dir.display()))?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("reading mountinfo: {e}"))?;
    if mounted_tmpfs(&info, &dir.to_string_lossy()) {
        return Ok(());
    }
    mount(
        Some("tmpfs"),
        &dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(format!("mode=0700,size={SIZE}").as_str()),
    )
    .map_err(|e| {
        format!(
            "mounting a tmpfs on {} for secrets and configs: {e} (swarmd runs containers as root)",
            dir.display()
        )
    })?;
    tracing::info!(dir = %dir.display(), "tmpfs for tasks' secret and config files mounted");
    Ok(())
}

/// `mountinfo` lines: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPER`.
fn mounted_tmpfs(mountinfo: &str, dir: &str) -> bool {
    mountinfo.lines().any(|line| {
        let mut halves = line.splitn(2, " - ");
        let before = halves.next().unwrap_or_default();
        let fstype = halves.next().and_then(|a| a.split_whitespace().next());
        before.split_whitespace().nth(4) == Some(dir) && fstype == Some("tmpfs")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tmpfs_mount_points_only() {
        let info = "\
22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw
40 28 0:35 / /state/files rw,nosuid,nodev,noexec shared:9 - tmpfs tmpfs rw,size=65536k,mode=700
41 28 8:1 / /state/other rw - ext4 /dev/sda1 rw";
        assert!(mounted_tmpfs(info, "/state/files"));
        assert!(!mounted_tmpfs(info, "/state/other"));
        assert!(!mounted_tmpfs(info, "/state"));
    }
}
