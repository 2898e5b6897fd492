//! Secrets and configs: named data a service's containers get as files, as Docker's. Both are
//! immutable (a new version is a new object). A secret's data is sealed in the store (see
//! `security::seal`) and never shown; a config's is plain and shown by `inspect`. A node gets
//! the data only while it runs a task that references it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::Meta;

/// Docker's limit for both: 500 KiB.
pub const MAX_DATA_BYTES: usize = 500 * 1024;

/// Where a secret's file goes when its reference names no target: `/run/secrets/<target>`.
pub const SECRETS_DIR: &str = "/run/secrets";

/// What a user gives: a name, labels and the data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSpec {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// A config's bytes; a secret's bytes sealed with the cluster's data key once stored.
    #[serde(with = "stored_bytes")]
    pub data: Vec<u8>,
}

/// A stored secret or config. Names are unique per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataObject {
    pub id: String,
    pub meta: Meta,
    pub kind: DataKind,
    pub spec: DataSpec,
}

/// Which of the two a reference, a payload or a file is about.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum DataKind {
    #[default]
    Secret,
    Config,
}

impl DataKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Secret => "secret",
            DataKind::Config => "config",
        }
    }
}

/// A service's use of a secret or a config: which one, and the file its containers see.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataReference {
    /// The object's ID once stored (its name in a request).
    pub id: String,
    /// Its name, kept for display and for `service inspect`.
    pub name: String,
    /// Secrets: a file name under /run/secrets (or an absolute path); configs: an absolute
    /// path. Empty in a request: the object's name (secrets) or `/<name>` (configs).
    pub target: String,
    pub uid: String,
    pub gid: String,
    /// Permission bits; 0444 when not given, as Docker.
    pub mode: u32,
}

impl DataReference {
    /// The path the container sees.
    pub fn container_path(&self, kind: DataKind) -> String {
        match (kind, self.target.starts_with('/')) {
            (_, true) => self.target.clone(),
            (DataKind::Secret, false) => format!("{SECRETS_DIR}/{}", self.target),
            (DataKind::Config, false) => format!("/{}", self.target),
        }
    }
}

/// What a node is sent for a task it runs: the plain data, over the mutual-TLS session only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPayload {
    pub kind: DataKind,
    pub id: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for DataPayload {
    /// Never the data: payloads pass through logs of assignments.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DataPayload {{ {} {}, {} bytes }}",
            self.kind.as_str(),
            self.id,
            self.data.len()
        )
    }
}

/// Data in the store's JSON as one base64 string: 4/3 of its size, where serde's default (an
/// array of numbers) costs up to 4 times it in every Raft entry and snapshot. An array, as
/// earlier versions wrote, is still read.
pub mod stored_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Base64(String),
            Numbers(Vec<u8>),
        }
        match Stored::deserialize(d)? {
            Stored::Base64(s) => STANDARD.decode(s).map_err(D::Error::custom),
            Stored::Numbers(bytes) => Ok(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_as_docker() {
        let r = |target: &str| DataReference {
            target: target.into(),
            ..Default::default()
        };
        assert_eq!(r("pw").container_path(DataKind::Secret), "/run/secrets/pw");
        assert_eq!(r("/etc/pw").container_path(DataKind::Secret), "/etc/pw");
        assert_eq!(r("app.conf").container_path(DataKind::Config), "/app.conf");
        assert_eq!(
            r("/etc/app.conf").container_path(DataKind::Config),
            "/etc/app.conf"
        );
        let p = DataPayload {
            kind: DataKind::Secret,
            id: "s1".into(),
            data: b"hunter2".to_vec(),
        };
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn stored_data_is_one_base64_string_and_old_arrays_still_read() {
        let spec = DataSpec {
            name: "c".into(),
            data: b"listen 80".to_vec(),
            ..Default::default()
        };
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["data"], "bGlzdGVuIDgw");
        assert_eq!(serde_json::from_value::<DataSpec>(json).unwrap(), spec);
        let old = serde_json::json!({"name": "c", "labels": {}, "data": [108, 105]});
        assert_eq!(serde_json::from_value::<DataSpec>(old).unwrap().data, b"li");
        let bad = serde_json::json!({"name": "c", "labels": {}, "data": "%%%"});
        assert!(serde_json::from_value::<DataSpec>(bad).is_err());
    }
}
