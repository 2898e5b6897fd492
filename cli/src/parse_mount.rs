//! `--mount` as docker takes it: comma-separated `key=value` fields (`readonly` alone too).
//! Only the syntax is checked here; what a mount may hold is checked by
//! `types::validate`, the same rule the control API applies.

use types::Mount;

use crate::parse;

/// `type=volume,source=dbdata,target=/var/lib/db[,readonly][,volume-driver=D][,volume-opt=K=V]`,
/// `type=bind,source=/path,target=/in`, `type=tmpfs,target=/scratch[,tmpfs-size=64m]`.
pub fn mount(s: &str) -> Result<Mount, String> {
    let mut m = Mount::default();
    for field in s.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (field.trim(), None),
        };
        let need = || value.ok_or_else(|| format!("`{key}` needs a value: {key}=… (in `{s}`)"));
        match key {
            "type" => m.kind = need()?.parse()?,
            "source" | "src" => m.source = need()?.to_string(),
            "target" | "destination" | "dst" => m.target = need()?.to_string(),
            "readonly" | "ro" => m.readonly = boolean(key, value)?,
            "volume-driver" => m.volume_driver = need()?.to_string(),
            "volume-opt" => {
                let (k, v) = need()?
                    .split_once('=')
                    .ok_or_else(|| format!("volume-opt `{field}` is not volume-opt=KEY=VALUE"))?;
                m.volume_options.insert(k.to_string(), v.to_string());
            }
            "tmpfs-size" => {
                m.tmpfs_size_bytes =
                    parse::memory_bytes(need()?).map_err(|e| format!("tmpfs-size: {e}"))?
            }
            "tmpfs-mode" => {
                let v = need()?;
                m.tmpfs_mode = u32::from_str_radix(v, 8)
                    .map_err(|_| format!("tmpfs-mode `{v}` is not an octal mode such as 1770"))?
            }
            other => {
                return Err(format!(
                    "`{other}` is not a mount option; use type, source, target, readonly, \
                     volume-driver, volume-opt, tmpfs-size or tmpfs-mode"
                ))
            }
        }
    }
    if m.target.is_empty() {
        return Err(format!(
            "`{s}` has no target; add target=/path/in/container"
        ));
    }
    Ok(m)
}

fn boolean(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("1" | "true") => Ok(true),
        Some("0" | "false") => Ok(false),
        Some(v) => Err(format!("{key}={v}: use true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::MountKind;

    #[test]
    fn docker_mount_syntax() {
        let v = mount("type=volume,source=dbdata,target=/var/lib/db,readonly,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs").unwrap();
        assert_eq!(v.kind, MountKind::Volume);
        assert_eq!(
            (v.source.as_str(), v.target.as_str()),
            ("dbdata", "/var/lib/db")
        );
        assert!(v.readonly);
        assert_eq!(v.volume_driver, "local");
        assert_eq!(v.volume_options["type"], "tmpfs");
        assert_eq!(v.volume_options["device"], "tmpfs");
        let b = mount("type=bind,src=/srv,dst=/in,ro=false").unwrap();
        assert_eq!((b.kind, b.readonly), (MountKind::Bind, false));
        let t = mount("type=tmpfs,target=/scratch,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
        assert_eq!(t.tmpfs_size_bytes, 64 << 20);
        assert_eq!(t.tmpfs_mode, 0o1770);
        assert_eq!(
            mount("source=v,target=/d").unwrap().kind,
            MountKind::Volume,
            "volume by default, as docker"
        );
    }

    #[test]
    fn bad_mounts_name_the_key() {
        for (arg, words) in [
            ("type=disk,target=/d", "type `disk`"),
            (
                "type=bind,source=/a,target=/b,colour=red",
                "`colour` is not a mount option",
            ),
            ("type=bind,source=/a", "no target"),
            ("type=tmpfs,target=/d,tmpfs-size=lots", "tmpfs-size"),
            ("type=tmpfs,target=/d,tmpfs-mode=999", "tmpfs-mode `999`"),
            (
                "type=volume,source=v,target=/d,volume-opt=novalue",
                "volume-opt=KEY=VALUE",
            ),
            ("type=volume,source,target=/d", "`source` needs a value"),
            (
                "type=volume,source=v,target=/d,readonly=maybe",
                "readonly=maybe",
            ),
        ] {
            let e = mount(arg).unwrap_err();
            assert!(e.contains(words), "{arg}: {e}");
        }
    }
}
