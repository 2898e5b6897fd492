//! Reading compose files into a [`Project`]: YAML parsed per file, interpolated, relative paths
//! made absolute against the file's directory, files merged in order, keys sorted into mapped,
//! ignored and unknown, the typed model read, and the files it names (`env_file`, a secret's
//! or a config's `file`) read. Nothing here talks to a cluster.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::envfile::{parse_dotenv, parse_env_file};
use crate::error::ComposeError;
use crate::interpolate::{interpolate_value, Variables};
use crate::locate::find_line;
use crate::merge::{merge_files, normalize_services};
use crate::model::ComposeFile;
use crate::scalar::Text;

/// One compose file as given: its path and its text (kept to find lines for errors).
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// Compose files merged and read, ready for [`crate::plan`].
#[derive(Debug, Clone)]
pub struct Project {
    pub(crate) file: ComposeFile,
    /// Keys valid in compose that a swarm does not apply, sorted (`build`, `links`).
    pub(crate) ignored: Vec<String>,
    pub(crate) sources: Vec<Source>,
    /// The merged, interpolated document the model was read from, for `stack config`.
    pub(crate) merged: Value,
}

impl Project {
    /// The names of the services, as written in the files (without the stack prefix).
    pub fn service_names(&self) -> Vec<String> {
        self.file.services.keys().cloned().collect()
    }

    /// Fills in where an [`ComposeError::Invalid`] is: the last file that has the key.
    pub(crate) fn locate(&self, err: ComposeError) -> ComposeError {
        locate_in(&self.sources, err)
    }
}

fn locate_in(sources: &[Source], err: ComposeError) -> ComposeError {
    match err {
        ComposeError::Invalid {
            key,
            message,
            line: None,
            ..
        } => {
            let hit = sources
                .iter()
                .rev()
                .find_map(|s| find_line(&s.text, &key).map(|line| (s, line)));
            ComposeError::Invalid {
                line: hit.map(|(_, line)| line),
                file: hit
                    .filter(|_| sources.len() > 1)
                    .map(|(s, _)| s.path.clone()),
                key,
                message,
            }
        }
        other => other,
    }
}

/// Reads `files` (merged in order) with `env` for interpolation, then the `.env` beside the
/// first file for variables `env` does not have.
pub fn load(files: &[PathBuf], env: &HashMap<String, String>) -> Result<Project, ComposeError> {
    let sources = files
        .iter()
        .map(|path| {
            let text = read(path)?;
            Ok(Source {
                path: path.clone(),
                text: String::from_utf8_lossy(&text).into_owned(),
            })
        })
        .collect::<Result<Vec<_>, ComposeError>>()?;
    let dotenv_path = files
        .first()
        .map(|f| dir_of(f).join(".env"))
        .filter(|p| p.is_file());
    let dotenv = match dotenv_path {
        Some(path) => {
            let text = String::from_utf8_lossy(&read(&path)?).into_owned();
            parse_dotenv(&text).map_err(|(line, message)| ComposeError::Syntax {
                file: path,
                message: format!("line {line}: {message}"),
                line: Some(line),
            })?
        }
        None => BTreeMap::new(),
    };
    load_sources(sources, env, &dotenv)
}

/// [`load`] on texts already read.
pub fn load_sources(
    sources: Vec<Source>,
    env: &HashMap<String, String>,
    dotenv: &BTreeMap<String, String>,
) -> Result<Project, ComposeError> {
    let vars = Variables { env, dotenv };
    let mut merged: Option<Value> = None;
    for source in &sources {
        let mut value = parse_yaml(source)?;
        interpolate_value(&mut value, "", &vars).map_err(|e| locate_in(&sources, e))?;
        absolutize_paths(&mut value, &dir_of(&source.path));
        normalize_services(&mut value);
        match &mut merged {
            None => merged = Some(value),
            Some(base) => merge_files(base, value),
        }
    }
    let merged = merged.unwrap_or(Value::Mapping(Default::default()));
    let ignored = crate::keys::check_keys(&merged).map_err(|e| locate_in(&sources, e))?;
    let mut file: ComposeFile = serde_path_to_error::deserialize(merged.clone()).map_err(|e| {
        let key = e.path().to_string();
        locate_in(
            &sources,
            ComposeError::invalid(key, reword(&e.into_inner().to_string())),
        )
    })?;
    read_named_files(&mut file, env)?;
    Ok(Project {
        file,
        ignored,
        sources,
        merged,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, ComposeError> {
    std::fs::read(path).map_err(|source| ComposeError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn dir_of(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn parse_yaml(source: &Source) -> Result<Value, ComposeError> {
    let syntax = |message: String, line| ComposeError::Syntax {
        file: source.path.clone(),
        message,
        line,
    };
    let value: Value = serde_norway::from_str(&source.text)
        .map_err(|e| syntax(e.to_string(), e.location().map(|l| l.line())))?;
    match value {
        Value::Mapping(_) => Ok(value),
        Value::Null => Ok(Value::Mapping(Default::default())),
        _ => Err(syntax(
            "the top of a compose file must be a map of keys".into(),
            None,
        )),
    }
}

/// serde's `invalid type: string "x", expected a map` → `expected a map, got string "x"`.
fn reword(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    match message
        .strip_prefix("invalid type: ")
        .and_then(|m| m.split_once(", expected "))
    {
        Some((got, expected)) => format!("expected {expected}, got {got}"),
        None => message.to_string(),
    }
}

/// `./data:/data`, `env_file: app.env` and `file: ./pw.txt` are relative to the file that
/// says them, which merging forgets: resolved first.
fn absolutize_paths(file: &mut Value, dir: &Path) {
    let abs = |v: &mut Value| {
        if let Value::String(s) = v {
            if !Path::new(s.as_str()).is_absolute() {
                *s = dir
                    .join(s.trim_start_matches("./"))
                    .to_string_lossy()
                    .into_owned();
            }
        }
    };
    if let Some(Value::Mapping(services)) = file.get_mut("services") {
        for (_, service) in services.iter_mut() {
            match service.get_mut("env_file") {
                Some(Value::Sequence(items)) => items.iter_mut().for_each(abs),
                Some(v) => abs(v),
                None => {}
            }
            if let Some(Value::Sequence(volumes)) = service.get_mut("volumes") {
                for volume in volumes {
                    match volume {
                        Value::String(s) if s.starts_with('.') => {
                            let (host, rest) = s.split_once(':').unwrap_or((s, ""));
                            let host = dir
                                .join(host.trim_start_matches("./"))
                                .to_string_lossy()
                                .into_owned();
                            *s = if rest.is_empty() {
                                host
                            } else {
                                format!("{host}:{rest}")
                            };
                        }
                        Value::Mapping(_)
                            if volume.get("type").and_then(Value::as_str) == Some("bind") =>
                        {
                            if let Some(source) = volume.get_mut("source") {
                                abs(source);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Value::Mapping(defs)) = file.get_mut(section) {
            for (_, def) in defs.iter_mut() {
                if let Some(path) = def.get_mut("file") {
                    abs(path);
                }
            }
        }
    }
}

/// Bare environment keys get the caller's values, `env_file`s become environment entries
/// (below `environment`), secret and config files their data.
fn read_named_files(
    file: &mut ComposeFile,
    env: &HashMap<String, String>,
) -> Result<(), ComposeError> {
    for (name, service) in &mut file.services {
        // `- KEY` without a value takes the caller's, and is dropped when it has none.
        if let Some(environment) = &mut service.environment {
            environment.0 = std::mem::take(&mut environment.0)
                .into_iter()
                .filter_map(|(k, v)| {
                    let v = v.or_else(|| env.get(&k).cloned())?;
                    Some((k, Some(v)))
                })
                .collect();
        }
        let Some(files) = service.env_file.take() else {
            continue;
        };
        let mut from_files = BTreeMap::new();
        for path in files.0 {
            let text = String::from_utf8_lossy(&read(Path::new(&path))?).into_owned();
            let vars = parse_env_file(&text).map_err(|(line, message)| ComposeError::Syntax {
                file: PathBuf::from(&path),
                message: format!("line {line}: {message} (env_file of service {name})"),
                line: Some(line),
            })?;
            for (k, v) in vars {
                // A bare `KEY` takes the caller's value, and is dropped when it has none.
                if let Some(v) = v.or_else(|| env.get(&k).cloned()) {
                    from_files.insert(k, Some(v));
                }
            }
        }
        let environment = service.environment.get_or_insert_with(Default::default);
        for (k, v) in from_files {
            environment.0.entry(k).or_insert(v);
        }
    }
    for def in file.secrets.values_mut().chain(file.configs.values_mut()) {
        if let Some(Text(path)) = &def.file {
            def.data = read(Path::new(path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
