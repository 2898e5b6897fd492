//! Compose files, as `docker stack deploy` reads them, turned into a deployment plan of this
//! project's domain types. Pure: the only I/O is reading the files it is given, the `.env`
//! beside the first one, and the files those name (`env_file`, a secret's or config's `file`).
//!
//! - [`load`]: reads, parses, interpolates (`interpolate`) and merges (`merge`) the files
//!   into a [`Project`]; unknown keys are errors, keys a swarm ignores are listed (`keys`)
//! - [`plan`]: maps a [`Project`] to a [`StackPlan`] of `types` specs with the stack's names
//!   and labels (`map_top`, `map_service`, `map_attach`)
//! - `scalar` and `model`: the file format as serde structs; [`units`]: `1m30s`, `512M`
//! - `config_out`: the merged document back as YAML, for `stack config`
//! - [`error`]: every error names the key path and, when found (`locate`), the line
//!
//! Validation is not repeated here: the control API checks the specs; this crate reports only
//! what cannot be read (`services.web.deploy.replicas: expected an integer, got "two" (line 12)`).
//!
//! # Why `serde_norway` and our own structs, not `docker-compose-types`
//!
//! `docker-compose-types` 0.24 models the whole compose format, but for a swarm it is both too
//! strict and too loose: its `Deploy` has `deny_unknown_fields` and no `endpoint_mode`,
//! `rollback_config` or `placement.max_replicas_per_node` (valid stack files fail to load),
//! `deploy.labels` is list-only, `ports` must be all-short or all-long, `cpus` is a string only,
//! and its numbers are not accepted as strings, which `replicas: ${REPLICAS}` is after
//! interpolation. Interpolation and merging must happen on the untyped tree anyway, before any
//! typed read. So files are parsed with `serde_norway` (the maintained fork of the deprecated
//! `serde_yaml`; `serde_yml` is deprecated too) into a `Value`, and read into the structs of
//! `model` with `serde_path_to_error`, which gives the key path of every type error.

mod config_out;
mod envfile;
pub mod error;
mod interpolate;
mod keys;
mod load;
mod locate;
mod map_attach;
mod map_service;
mod map_top;
mod merge;
mod model;
mod scalar;
pub mod units;

pub use error::ComposeError;
pub use load::{load, Project};
pub use map_top::{plan, Condition, DataToCreate, StackPlan, DEFAULT_NETWORK, NAMESPACE_LABEL};
