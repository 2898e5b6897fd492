//! Several compose files merged in order, as the compose specification says: maps merged by
//! key (later scalars win), sequences appended, except `command`, `entrypoint` and
//! `healthcheck.test` (replaced), and the lists with a unique key, where a later entry
//! replaces an earlier one with the same key: `volumes` by target, `secrets` and `configs` by
//! source, `ports` by (ip, target, published, protocol). `environment`, `labels`,
//! `deploy.labels`, `networks` and `depends_on` are made maps first, so both spellings merge.

use serde_norway::{Mapping, Value};

/// Merges `over` into `base`. Both must have been through [`normalize_services`].
pub fn merge_files(base: &mut Value, over: Value) {
    merge_at(base, over, &[]);
}

fn merge_at(base: &mut Value, over: Value, path: &[&str]) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                let key = k.as_str().unwrap_or_default().to_string();
                match b.get_mut(&k) {
                    Some(existing) => {
                        let mut child: Vec<&str> = path.to_vec();
                        child.push(&key);
                        merge_at(existing, v, &child);
                    }
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Sequence(b), Value::Sequence(o)) => match unique_key(path) {
            Replace => *b = o,
            Append => b.extend(o),
            ByKey(key_of) => {
                for item in o {
                    let k = key_of(&item);
                    match b.iter_mut().find(|old| k.is_some() && key_of(old) == k) {
                        Some(old) => *old = item,
                        None => b.push(item),
                    }
                }
            }
        },
        (b, o) => *b = o,
    }
}

enum SequenceRule {
    Replace,
    Append,
    ByKey(fn(&Value) -> Option<String>),
}
use SequenceRule::*;

/// The rule for a sequence at `path` (`["services", "web", "ports"]`).
fn unique_key(path: &[&str]) -> SequenceRule {
    match path {
        ["services", _, "command" | "entrypoint"] => Replace,
        ["services", _, "healthcheck", "test"] => Replace,
        ["services", _, "volumes"] => ByKey(volume_target),
        ["services", _, "secrets" | "configs"] => ByKey(data_source),
        ["services", _, "ports"] => ByKey(port_key),
        _ => Append,
    }
}

fn field(item: &Value, name: &str) -> Option<String> {
    match item.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn volume_target(item: &Value) -> Option<String> {
    match item {
        Value::String(s) => s.split(':').nth(1).map(str::to_string),
        _ => field(item, "target"),
    }
}

fn data_source(item: &Value) -> Option<String> {
    match item {
        Value::String(s) => Some(s.clone()),
        _ => field(item, "source"),
    }
}

/// Ports compare as written once defaults are filled in: `"8080:80"` and
/// `{target: 80, published: 8080}` are the same port.
fn port_key(item: &Value) -> Option<String> {
    match item {
        Value::String(_) | Value::Number(_) => {
            let text = item
                .as_str()
                .map(str::to_string)
                .or_else(|| item.as_u64().map(|n| n.to_string()))?;
            let (spec, protocol) = text.split_once('/').unwrap_or((&text, "tcp"));
            let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
            let (target, published, ip) = match parts.as_slice() {
                [t] => (*t, "", ""),
                [t, p] => (*t, *p, ""),
                [t, p, ip] => (*t, *p, *ip),
                _ => return None,
            };
            Some(format!("{ip}:{target}:{published}:{protocol}"))
        }
        _ => Some(format!(
            "{}:{}:{}:{}",
            field(item, "host_ip").unwrap_or_default(),
            field(item, "target")?,
            field(item, "published").unwrap_or_default(),
            field(item, "protocol").unwrap_or_else(|| "tcp".into())
        )),
    }
}

/// List spellings of the map-like service keys become maps (every file, merged or not, so the
/// typed read sees one shape).
pub fn normalize_services(file: &mut Value) {
    let Some(Value::Mapping(services)) = file.get_mut("services") else {
        return;
    };
    for (_, service) in services.iter_mut() {
        for key in ["environment", "labels", "networks", "depends_on"] {
            if let Some(v) = service.get_mut(key) {
                list_to_map(v, key == "environment" || key == "labels");
            }
        }
        if let Some(v) = service.get_mut("deploy").and_then(|d| d.get_mut("labels")) {
            list_to_map(v, true);
        }
    }
}

/// `[A=1, B]` → `{A: "1", B: null}` when `split` (key=value lists), `[a, b]` → `{a: null, b:
/// null}` otherwise (lists of names).
fn list_to_map(value: &mut Value, split: bool) {
    let Value::Sequence(items) = value else {
        return;
    };
    let mut map = Mapping::new();
    for item in items.iter() {
        let Some(text) = item.as_str() else {
            return; // not a list of strings: left as is for the type check to report
        };
        match text.split_once('=').filter(|_| split) {
            Some((k, v)) => map.insert(k.into(), v.into()),
            None => map.insert(text.into(), Value::Null),
        };
    }
    *value = Value::Mapping(map);
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
