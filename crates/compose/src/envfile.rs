//! `KEY=VALUE` files: the `.env` beside the first compose file (values for interpolation) and a
//! service's `env_file`s (its environment). Blank lines and `#` comments are skipped, `export `
//! is allowed, values may be quoted with `"` or `'`; a line without `=` names a variable with
//! no value, which `env_file` takes from the caller's environment as docker does.

use std::collections::BTreeMap;

/// A variable of the file; `None` for a bare `KEY` line.
pub type EnvEntry = (String, Option<String>);

/// The file's variables in order of appearance. `Err` carries the 1-based line number and what
/// is wrong.
pub fn parse_env_file(text: &str) -> Result<Vec<EnvEntry>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
            None => (line, None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err((i + 1, format!("`{raw}` is not `KEY=VALUE`")));
        }
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// The `.env` form: only variables with a value.
pub fn parse_dotenv(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    Ok(parse_env_file(text)?
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect())
}

/// `"a b"` → `a b` (with `\n`, `\"` and `\\` escapes), `'a b'` → `a b` verbatim, and an
/// unquoted value loses a trailing ` # comment`.
fn unquote(v: &str) -> String {
    let quoted = |q: char| v.len() >= 2 && v.starts_with(q) && v.ends_with(q);
    if quoted('\'') {
        return v[1..v.len() - 1].to_string();
    }
    if quoted('"') {
        let mut out = String::new();
        let mut chars = v[1..v.len() - 1].chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                },
                (c, false) => out.push(c),
            }
        }
        return out;
    }
    match v.find(" #") {
        Some(at) => v[..at].trim_end().to_string(),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_env_files_as_docker() {
        let text = "# comment\n\nA=1\nexport B = two\nC=\"quoted # not a comment\"\n\
                    D='single $X'\nE=plain # comment\nF=\nG\nH=\"line\\nbreak\"\n";
        let vars = parse_env_file(text).unwrap();
        let get = |k: &str| vars.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("A").as_deref(), Some("1"));
        assert_eq!(get("B").as_deref(), Some("two"));
        assert_eq!(get("C").as_deref(), Some("quoted # not a comment"));
        assert_eq!(get("D").as_deref(), Some("single $X"));
        assert_eq!(get("E").as_deref(), Some("plain"));
        assert_eq!(get("F").as_deref(), Some(""));
        assert_eq!(get("G"), None);
        assert_eq!(get("H").as_deref(), Some("line\nbreak"));
        assert!(!parse_dotenv(text).unwrap().contains_key("G"));
        assert_eq!(
            parse_env_file("OK=1\nnot a var\n").unwrap_err().0,
            2,
            "the bad line is named"
        );
    }
}
