//! Mounts of a service's containers: absolute distinct targets, and each kind with exactly the
//! settings it takes.

use std::collections::BTreeSet;

use super::{fail, ValidationError};
use crate::mount::{Mount, MountKind};

const FIELD: &str = "spec.task.container.mounts";

pub fn validate_mounts(mounts: &[Mount]) -> Result<(), ValidationError> {
    let mut targets = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let at = |key: &str| format!("{FIELD}[{i}].{key}");
        let t = m.target.as_str();
        if t.is_empty() {
            return fail(
                at("target"),
                "missing; give the path in the container (target=/data)",
            );
        }
        if !t.starts_with('/') || t == "/" {
            return fail(
                at("target"),
                format!("`{t}` is not an absolute path below /; use e.g. /data"),
            );
        }
        if !targets.insert(t.trim_end_matches('/')) {
            return fail(
                at("target"),
                format!("`{t}` is mounted twice; give each mount its own target"),
            );
        }
        match m.kind {
            MountKind::Bind if m.source.is_empty() => {
                return fail(
                    at("source"),
                    "missing; a bind mount needs the path on the node (source=/srv/data)",
                );
            }
            MountKind::Bind if !m.source.starts_with('/') => {
                return fail(
                    at("source"),
                    format!("`{}` is not an absolute path on the node", m.source),
                );
            }
            MountKind::Volume if m.source.is_empty() => {
                return fail(
                    at("source"),
                    "missing; a volume mount needs the volume's name (source=dbdata)",
                );
            }
            MountKind::Volume => validate_volume_name(&at("source"), &m.source)?,
            MountKind::Tmpfs if !m.source.is_empty() => {
                return fail(at("source"), "a tmpfs has no source; leave it out");
            }
            _ => {}
        }
        if m.kind != MountKind::Volume
            && (!m.volume_driver.is_empty() || !m.volume_options.is_empty())
        {
            return fail(
                at("volume_driver"),
                format!(
                    "volume-driver and volume-opt are for type=volume, not type={}",
                    m.kind
                ),
            );
        }
        if m.kind != MountKind::Tmpfs && (m.tmpfs_size_bytes != 0 || m.tmpfs_mode != 0) {
            return fail(
                at("tmpfs_size_bytes"),
                format!(
                    "tmpfs-size and tmpfs-mode are for type=tmpfs, not type={}",
                    m.kind
                ),
            );
        }
        if m.tmpfs_size_bytes < 0 {
            return fail(at("tmpfs_size_bytes"), "negative; give a size such as 64m");
        }
        if m.tmpfs_mode > 0o7777 {
            return fail(
                at("tmpfs_mode"),
                format!(
                    "{:o} is not a permission mode; use octal up to 7777",
                    m.tmpfs_mode
                ),
            );
        }
    }
    Ok(())
}

/// Docker's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn validate_volume_name(field: &str, name: &str) -> Result<(), ValidationError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !first_ok || !rest_ok || name.len() < 2 {
        return fail(
            field,
            format!("`{name}` is not a volume name: use [a-zA-Z0-9][a-zA-Z0-9_.-]+, at least 2 characters"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MountKind, source: &str, target: &str) -> Mount {
        Mount {
            kind,
            source: source.into(),
            target: target.into(),
            ..Default::default()
        }
    }

    #[test]
    fn each_bad_mount_is_refused_naming_its_key() {
        let good = vec![
            m(MountKind::Volume, "dbdata", "/var/lib/db"),
            m(MountKind::Bind, "/srv/conf", "/etc/app"),
            Mount {
                tmpfs_size_bytes: 64 << 20,
                tmpfs_mode: 0o1770,
                ..m(MountKind::Tmpfs, "", "/scratch")
            },
        ];
        validate_mounts(&good).unwrap();
        let driver = Mount {
            volume_driver: "local".into(),
            ..m(MountKind::Bind, "/a", "/b")
        };
        let size = Mount {
            tmpfs_size_bytes: 1,
            ..m(MountKind::Volume, "v1", "/b")
        };
        let mode = Mount {
            tmpfs_mode: 0o17777,
            ..m(MountKind::Tmpfs, "", "/b")
        };
        let table: Vec<(Vec<Mount>, &str, &str)> = vec![
            (
                vec![m(MountKind::Volume, "v1", "")],
                "[0].target",
                "missing",
            ),
            (
                vec![m(MountKind::Volume, "v1", "data")],
                "[0].target",
                "absolute",
            ),
            (
                vec![m(MountKind::Volume, "v1", "/")],
                "[0].target",
                "absolute",
            ),
            (
                vec![
                    m(MountKind::Tmpfs, "", "/d"),
                    m(MountKind::Tmpfs, "", "/d/"),
                ],
                "[1].target",
                "twice",
            ),
            (vec![m(MountKind::Bind, "", "/d")], "[0].source", "missing"),
            (
                vec![m(MountKind::Bind, "rel/path", "/d")],
                "[0].source",
                "absolute",
            ),
            (
                vec![m(MountKind::Volume, "", "/d")],
                "[0].source",
                "missing",
            ),
            (
                vec![m(MountKind::Volume, "-bad", "/d")],
                "[0].source",
                "volume name",
            ),
            (
                vec![m(MountKind::Tmpfs, "x", "/d")],
                "[0].source",
                "no source",
            ),
            (vec![driver], "[0].volume_driver", "type=volume"),
            (vec![size], "[0].tmpfs_size_bytes", "type=tmpfs"),
            (vec![mode], "[0].tmpfs_mode", "octal"),
        ];
        for (mounts, field, words) in table {
            let e = validate_mounts(&mounts).unwrap_err();
            assert_eq!(e.field, format!("{FIELD}{field}"), "{mounts:?}");
            assert!(e.message.contains(words), "{}: {}", e.field, e.message);
        }
    }
}
