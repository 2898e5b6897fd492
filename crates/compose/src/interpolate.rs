//! Variable substitution as docker does it, on the values (never the keys) of a parsed file:
//! `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
//! `${VAR:?message}`, `${VAR?message}`, `${VAR:+alternative}`, `${VAR+alternative}` and `$$` for a literal `$`. Unset variables without a
//! default become empty strings, as docker (which warns).

use std::collections::{BTreeMap, HashMap};

use serde_norway::Value;

use crate::error::ComposeError;

/// Where values come from: the caller's environment first, then the `.env` file.
pub struct Variables<'a> {
    pub env: &'a HashMap<String, String>,
    pub dotenv: &'a BTreeMap<String, String>,
}

impl Variables<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }
}

/// Substitutes every string value of `value` in place; `key` is the path of `value`, for errors.
pub fn interpolate_value(
    value: &mut Value,
    key: &str,
    vars: &Variables,
) -> Result<(), ComposeError> {
    match value {
        Value::String(s) => *s = interpolate(s, key, vars)?,
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, &format!("{key}[{i}]"), vars)?;
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let name = k.as_str().map(str::to_string).unwrap_or_default();
                let child = if key.is_empty() {
                    name
                } else {
                    format!("{key}.{name}")
                };
                interpolate_value(v, &child, vars)?;
            }
        }
        Value::Tagged(tagged) => interpolate_value(&mut tagged.value, key, vars)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// One string, substituted.
pub fn interpolate(text: &str, key: &str, vars: &Variables) -> Result<String, ComposeError> {
    let bad =
        |why: &str| ComposeError::invalid(key, format!("invalid interpolation in `{text}`: {why}"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(braced) = rest.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| bad("a `${` has no closing `}`"))?;
            out.push_str(&expand(&braced[..end], key, vars).map_err(|e| match e {
                Expansion::Missing(var, message) => ComposeError::MissingVariable {
                    key: key.to_string(),
                    var,
                    message,
                },
                Expansion::BadName => bad("a variable name is empty or malformed"),
            })?);
            rest = &braced[end + 1..];
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                return Err(bad(
                    "`$` is followed by no name; write `$$` for a literal `$`",
                ));
            }
            out.push_str(vars.get(&rest[..end]).unwrap_or(""));
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

enum Expansion {
    Missing(String, String),
    BadName,
}

/// The inside of `${...}`.
fn expand(inner: &str, key: &str, vars: &Variables) -> Result<String, Expansion> {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, op) = inner.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Expansion::BadName);
    }
    let value = vars.get(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    let word = |w: &str| interpolate(w, key, vars).map_err(|_| Expansion::BadName);
    let missing = |message: &str| Expansion::Missing(name.to_string(), message.to_string());
    match op {
        "" => Ok(value.unwrap_or("").to_string()),
        _ if op.starts_with(":-") => {
            if set_nonempty {
                Ok(value.unwrap_or("").to_string())
            } else {
                word(&op[2..])
            }
        }
        _ if op.starts_with('-') => match value {
            Some(v) => Ok(v.to_string()),
            None => word(&op[1..]),
        },
        _ if op.starts_with(":?") => {
            if set_nonempty {
                Ok(value.unwrap_or("").to_string())
            } else {
                Err(missing(&op[2..]))
            }
        }
        _ if op.starts_with('?') => value.map(str::to_string).ok_or_else(|| missing(&op[1..])),
        _ if op.starts_with(":+") => {
            if set_nonempty {
                word(&op[2..])
            } else {
                Ok(String::new())
            }
        }
        _ if op.starts_with('+') => {
            if value.is_some() {
                word(&op[1..])
            } else {
                Ok(String::new())
            }
        }
        _ => Err(Expansion::BadName),
    }
}

#[cfg(test)]
#[path = "interpolate_tests.rs"]
mod tests;
