//! The rows of `node ls`, `service ls` and `service ps`, parsed from `--format json` (one JSON
//! object per line, keyed by docker's field names).

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// One row of `node ls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeRow {
    #[serde(rename = "ID")]
    pub id: String,
    pub hostname: String,
    pub status: String,
    pub availability: String,
    /// `Leader`, `Reachable`, `Unreachable`, or empty for a worker.
    pub manager_status: String,
}

impl NodeRow {
    /// The ID without the ` *` that marks the node answering the command.
    pub fn bare_id(&self) -> &str {
        self.id.trim_end_matches(" *").trim()
    }
}

/// One row of `service ls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceRow {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub mode: String,
    /// `running/desired`.
    pub replicas: String,
    pub image: String,
    pub ports: String,
}

impl ServiceRow {
    /// The desired count of REPLICAS (`3` of `2/3`).
    pub fn desired(&self) -> &str {
        self.replicas.split_once('/').map_or("", |(_, d)| d)
    }

    /// What the user asked for, without the live running count: comparable across restarts.
    pub fn spec_summary(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.name,
            self.mode,
            self.image,
            self.desired(),
            self.ports
        )
    }
}

/// One row of `service ps`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskRow {
    #[serde(rename = "ID")]
    pub id: String,
    /// `service.slot` (replicated) or `service.node` (global).
    pub name: String,
    pub image: String,
    /// The node's hostname (empty while unassigned).
    pub node: String,
    pub desired_state: String,
    /// `Running 3 seconds ago`, `Pending less than a second ago`, ...
    pub current_state: String,
    pub error: String,
}

impl TaskRow {
    /// The part of NAME after the service name: the slot of a replicated task.
    pub fn slot(&self) -> &str {
        self.name.rsplit_once('.').map_or("", |(_, slot)| slot)
    }

    /// The state word of CURRENT STATE, without its age.
    pub fn state(&self) -> &str {
        self.current_state.split_whitespace().next().unwrap_or("")
    }

    /// Desired Running and actually running: the task that fills its slot.
    pub fn is_running(&self) -> bool {
        self.desired_state == "Running" && self.state() == "Running"
    }
}

/// Parses JSON lines into rows; a line that does not parse is an error naming it.
pub fn parse_rows<T: DeserializeOwned>(stdout: &str) -> Result<Vec<T>, String> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(|e| format!("`{line}`: {e}")))
        .collect()
}
