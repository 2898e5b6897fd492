//! Secrets and configs, and a service's references to them.

use std::collections::BTreeSet;

use super::{fail, validate_labels, ValidationError};
use crate::secret::{DataKind, DataReference, DataSpec, MAX_DATA_BYTES};
use crate::ContainerSpec;

/// Docker's rule for both: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 64 characters; data of 1 byte
/// to 500 KiB.
pub fn validate_data_spec(kind: DataKind, spec: &DataSpec) -> Result<(), ValidationError> {
    let what = kind.as_str();
    let name = spec.name.as_str();
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return fail(
            "spec.name",
            format!("`{name}` is not a {what} name: use [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
        );
    }
    if name.len() > 64 {
        return fail(
            "spec.name",
            format!("`{name}` is {} characters long; use at most 64", name.len()),
        );
    }
    validate_labels("spec.labels", spec.labels.keys())?;
    match spec.data.len() {
        0 => fail(
            "spec.data",
            format!("the {what} is empty; give it some data"),
        ),
        n if n > MAX_DATA_BYTES => fail(
            "spec.data",
            format!("{n} bytes is over the {MAX_DATA_BYTES}-byte (500 KiB) limit for a {what}"),
        ),
        _ => Ok(()),
    }
}

/// Each reference names an object, a file no other reference takes, numeric owners and a
/// permission mode.
pub fn validate_references(c: &ContainerSpec) -> Result<(), ValidationError> {
    let mut paths = BTreeSet::new();
    for (kind, refs) in [
        (DataKind::Secret, &c.secrets),
        (DataKind::Config, &c.configs),
    ] {
        let list = format!("spec.task.container.{}s", kind.as_str());
        for (i, r) in refs.iter().enumerate() {
            let at = |key: &str| format!("{list}[{i}].{key}");
            if r.id.is_empty() {
                return fail(
                    at("id"),
                    format!("names no {}; give source=NAME", kind.as_str()),
                );
            }
            validate_target(&at("target"), kind, r)?;
            if !paths.insert(r.container_path(kind)) {
                return fail(
                    at("target"),
                    format!(
                        "{} is given twice; give each secret and config its own target",
                        r.container_path(kind)
                    ),
                );
            }
            for (key, v) in [("uid", &r.uid), ("gid", &r.gid)] {
                if !v.is_empty() && v.parse::<u32>().is_err() {
                    return fail(
                        at(key),
                        format!("`{v}` is not a number; use a numeric {key}"),
                    );
                }
            }
            if r.mode > 0o777 {
                return fail(
                    at("mode"),
                    format!("{:o} is not a file mode; use octal up to 0777", r.mode),
                );
            }
        }
    }
    Ok(())
}

fn validate_target(field: &str, kind: DataKind, r: &DataReference) -> Result<(), ValidationError> {
    let t = r.target.as_str();
    if t.is_empty() {
        return fail(field, "empty; give a file name (target=app.conf)");
    }
    if t.split('/').any(|part| part == "..") {
        return fail(field, format!("`{t}` leaves its directory with `..`"));
    }
    if t.ends_with('/') || t == "/" {
        return fail(field, format!("`{t}` is a directory; name a file"));
    }
    if kind == DataKind::Config && !t.starts_with('/') && t.contains('/') {
        return fail(
            field,
            format!("`{t}` is relative; give an absolute path (/etc/app.conf)"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, len: usize) -> DataSpec {
        DataSpec {
            name: name.into(),
            data: vec![b'x'; len],
            ..Default::default()
        }
    }

    #[test]
    fn data_specs() {
        validate_data_spec(DataKind::Secret, &spec("db_pw.v2", 10)).unwrap();
        for (s, field, words) in [
            (spec("-pw", 1), "spec.name", "not a secret name"),
            (spec("p w", 1), "spec.name", "not a secret name"),
            (spec(&"a".repeat(65), 1), "spec.name", "at most 64"),
            (spec("pw", 0), "spec.data", "empty"),
            (spec("pw", MAX_DATA_BYTES + 1), "spec.data", "500 KiB"),
        ] {
            let e = validate_data_spec(DataKind::Secret, &s).unwrap_err();
            assert_eq!(e.field, field);
            assert!(e.message.contains(words), "{}", e.message);
        }
    }

    #[test]
    fn references() {
        let r = |id: &str, target: &str| DataReference {
            id: id.into(),
            name: id.into(),
            target: target.into(),
            ..Default::default()
        };
        let mut c = ContainerSpec {
            secrets: vec![r("pw", "pw"), r("key", "/etc/key")],
            configs: vec![r("conf", "/etc/app.conf")],
            ..Default::default()
        };
        validate_references(&c).unwrap();
        c.configs.push(r("dup", "/run/secrets/pw"));
        let e = validate_references(&c).unwrap_err();
        assert_eq!(e.field, "spec.task.container.configs[1].target");
        assert!(e.message.contains("twice"), "{}", e.message);
        c.configs.pop();
        for (bad, field, words) in [
            (r("", "x"), "secrets[2].id", "source=NAME"),
            (r("a", "../x"), "secrets[2].target", ".."),
            (r("a", ""), "secrets[2].target", "empty"),
            (
                DataReference {
                    uid: "root".into(),
                    ..r("a", "u")
                },
                "secrets[2].uid",
                "numeric",
            ),
            (
                DataReference {
                    mode: 0o1777,
                    ..r("a", "m")
                },
                "secrets[2].mode",
                "0777",
            ),
        ] {
            let mut c = c.clone();
            c.secrets.push(bad);
            let e = validate_references(&c).unwrap_err();
            assert_eq!(e.field, format!("spec.task.container.{field}"));
            assert!(e.message.contains(words), "{}", e.message);
        }
    }
}
