//! Finding objects the way docker's CLI does: full ID, unique ID prefix, or name/hostname.

use types::{DataKind, DataObject, Network, Node, Service, Task};

use crate::tables::Tables;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{kind} {query} not found; list them with `swarmctl {kind} ls`")]
    NotFound { kind: &'static str, query: String },
    #[error("{kind} {query} is ambiguous ({count} match); use a longer ID prefix")]
    Ambiguous {
        kind: &'static str,
        query: String,
        count: usize,
    },
}

fn pick<'a, T>(
    kind: &'static str,
    query: &str,
    exact: Option<&'a T>,
    by_name: Vec<&'a T>,
    by_prefix: Vec<&'a T>,
) -> Result<&'a T, LookupError> {
    if let Some(t) = exact {
        return Ok(t);
    }
    for candidates in [by_name, by_prefix] {
        match candidates.len() {
            0 => continue,
            1 => return Ok(candidates[0]),
            count => {
                return Err(LookupError::Ambiguous {
                    kind,
                    query: query.to_string(),
                    count,
                })
            }
        }
    }
    Err(LookupError::NotFound {
        kind,
        query: query.to_string(),
    })
}

impl Tables {
    /// A node by ID, hostname or unique ID prefix.
    pub fn find_node(&self, query: &str) -> Result<&Node, LookupError> {
        let by_name = self
            .nodes
            .values()
            .filter(|n| n.description.hostname == query)
            .collect();
        let by_prefix = self
            .nodes
            .values()
            .filter(|n| !query.is_empty() && n.id.starts_with(query))
            .collect();
        pick("node", query, self.nodes.get(query), by_name, by_prefix)
    }

    /// A service by ID, name or unique ID prefix.
    pub fn find_service(&self, query: &str) -> Result<&Service, LookupError> {
        let by_name = self
            .services
            .values()
            .filter(|s| s.spec.name == query)
            .collect();
        let by_prefix = self
            .services
            .values()
            .filter(|s| !query.is_empty() && s.id.starts_with(query))
            .collect();
        pick(
            "service",
            query,
            self.services.get(query),
            by_name,
            by_prefix,
        )
    }

    /// A task by ID or unique ID prefix.
    pub fn find_task(&self, query: &str) -> Result<&Task, LookupError> {
        let by_prefix = self
            .tasks
            .values()
            .filter(|t| !query.is_empty() && t.id.starts_with(query))
            .collect();
        pick("task", query, self.tasks.get(query), Vec::new(), by_prefix)
    }

    /// A network by ID, name or unique ID prefix.
    pub fn find_network(&self, query: &str) -> Result<&Network, LookupError> {
        let by_name = self
            .networks
            .values()
            .filter(|n| n.spec.name == query)
            .collect();
        let by_prefix = self
            .networks
            .values()
            .filter(|n| !query.is_empty() && n.id.starts_with(query))
            .collect();
        pick(
            "network",
            query,
            self.networks.get(query),
            by_name,
            by_prefix,
        )
    }

    /// A secret or config by ID, name or unique ID prefix.
    pub fn find_data(&self, kind: DataKind, query: &str) -> Result<&DataObject, LookupError> {
        let of_kind = || self.data.values().filter(move |d| d.kind == kind);
        let by_name = of_kind().filter(|d| d.spec.name == query).collect();
        let by_prefix = of_kind()
            .filter(|d| !query.is_empty() && d.id.starts_with(query))
            .collect();
        let by_id = self.data.get(query).filter(|d| d.kind == kind);
        pick(kind.as_str(), query, by_id, by_name, by_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> Tables {
        let mut t = Tables::default();
        for (id, name) in [("abc111", "web"), ("abd222", "db")] {
            let mut s = Service {
                id: id.into(),
                ..Default::default()
            };
            s.spec.name = name.into();
            t.services.insert(id.into(), s);
        }
        t
    }

    #[test]
    fn finds_by_id_name_and_unique_prefix() {
        let t = tables();
        assert_eq!(t.find_service("abc111").unwrap().spec.name, "web");
        assert_eq!(t.find_service("db").unwrap().id, "abd222");
        assert_eq!(t.find_service("abc").unwrap().spec.name, "web");
        assert!(matches!(
            t.find_service("ab"),
            Err(LookupError::Ambiguous { count: 2, .. })
        ));
        assert!(matches!(
            t.find_service("zzz"),
            Err(LookupError::NotFound { .. })
        ));
    }
}
