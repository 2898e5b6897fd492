//! `--secret` and `--config` as docker takes them: `NAME`, or comma-separated `key=value`
//! fields `source=NAME,target=FILE,uid=0,gid=0,mode=0400`. Only the syntax is checked here;
//! what a reference may hold is checked by `types::validate` (the control API's rule), and
//! whether the named object exists by the manager.

use types::{DataKind, DataReference};

/// `--secret NAME` or `--secret source=NAME,target=FILE,uid=0,gid=0,mode=0400`; the file is
/// `/run/secrets/NAME` when no target is given.
pub fn secret(s: &str) -> Result<DataReference, String> {
    reference(DataKind::Secret, s)
}

/// `--config NAME` or `--config source=NAME,target=/path,uid=0,gid=0,mode=0444`; the file is
/// `/NAME` when no target is given.
pub fn config(s: &str) -> Result<DataReference, String> {
    reference(DataKind::Config, s)
}

/// A reference as sent in a request: `id` holds the name typed, which the manager resolves.
/// A mode of 0 leaves the manager's default (0444).
pub fn reference(kind: DataKind, s: &str) -> Result<DataReference, String> {
    let mut r = DataReference::default();
    if !s.contains('=') && !s.contains(',') {
        r.id = s.trim().to_string();
    } else {
        for field in s.split(',').filter(|f| !f.is_empty()) {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (field.trim(), ""),
            };
            if value.is_empty() {
                return Err(format!("`{key}` needs a value: {key}=… (in `{s}`)"));
            }
            match key {
                "source" | "src" => r.id = value.to_string(),
                "target" => r.target = value.to_string(),
                "uid" => r.uid = value.to_string(),
                "gid" => r.gid = value.to_string(),
                "mode" => {
                    r.mode = u32::from_str_radix(value, 8).map_err(|_| {
                        format!("mode `{value}` is not an octal file mode such as 0400")
                    })?
                }
                other => {
                    return Err(format!(
                        "`{other}` is not a {} option; use source, target, uid, gid or mode",
                        kind.as_str()
                    ))
                }
            }
        }
    }
    if r.id.is_empty() {
        return Err(format!(
            "`{s}` names no {what}; give NAME or source=NAME (create one with `swarmctl {what} create NAME FILE`)",
            what = kind.as_str()
        ));
    }
    if r.target.is_empty() {
        r.target = match kind {
            DataKind::Secret => r.id.clone(),
            DataKind::Config => format!("/{}", r.id),
        };
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str, target: &str, uid: &str, gid: &str, mode: u32) -> DataReference {
        DataReference {
            id: id.into(),
            name: String::new(),
            target: target.into(),
            uid: uid.into(),
            gid: gid.into(),
            mode,
        }
    }

    #[test]
    fn short_and_long_forms_with_docker_defaults() {
        assert_eq!(secret("pw").unwrap(), r("pw", "pw", "", "", 0));
        assert_eq!(
            secret("pw").unwrap().container_path(DataKind::Secret),
            "/run/secrets/pw"
        );
        assert_eq!(
            config("app.conf").unwrap(),
            r("app.conf", "/app.conf", "", "", 0)
        );
        assert_eq!(
            secret("source=pw,target=db_password,uid=10,gid=20,mode=0400").unwrap(),
            r("pw", "db_password", "10", "20", 0o400)
        );
        assert_eq!(
            config("src=conf,target=/etc/app.conf,mode=640").unwrap(),
            r("conf", "/etc/app.conf", "", "", 0o640)
        );
        assert_eq!(config("source=conf").unwrap().target, "/conf");
        assert_eq!(secret("source=pw,").unwrap().target, "pw");
    }

    #[test]
    fn bad_fields_are_named() {
        for (arg, words) in [
            ("source=x,colour=red", "`colour` is not a secret option"),
            ("source=x,mode=999", "mode `999`"),
            ("source=x,mode=rw", "mode `rw`"),
            ("source=x,mode=", "`mode` needs a value"),
            ("source=x,uid", "`uid` needs a value"),
            ("target=/x", "names no secret"),
            ("", "names no secret"),
            (",", "names no secret"),
        ] {
            let e = secret(arg).unwrap_err();
            assert!(e.contains(words), "{arg}: {e}");
        }
        let e = config("source=c,destination=/x").unwrap_err();
        assert!(e.contains("`destination` is not a config option"), "{e}");
        assert!(config("target=/x").unwrap_err().contains("config create"));
    }
}
