//! The merged, interpolated document written back as YAML, as `docker stack config` prints it.

use crate::error::ComposeError;
use crate::load::Project;

impl Project {
    /// The files merged and interpolated, as YAML: relative paths are made absolute and short
    /// service forms normalized, as the plan reads them.
    pub fn to_yaml(&self) -> Result<String, ComposeError> {
        serde_norway::to_string(&self.merged).map_err(|e| ComposeError::Syntax {
            file: self
                .sources
                .first()
                .map(|s| s.path.clone())
                .unwrap_or_default(),
            message: format!("cannot write the merged file as YAML: {e}"),
            line: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn the_merged_interpolated_file_is_written_back() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("a.yml");
        let over = dir.path().join("b.yml");
        std::fs::write(
            &base,
            "services:\n  web:\n    image: nginx:${TAG}\n    ports: ['80:80']\n",
        )
        .unwrap();
        std::fs::write(&over, "services:\n  web:\n    deploy:\n      replicas: 2\n").unwrap();
        let env = HashMap::from([("TAG".to_string(), "1.25".to_string())]);
        let project = crate::load(&[base, over], &env).unwrap();
        let yaml = project.to_yaml().unwrap();
        let back: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
        let web = &back["services"]["web"];
        assert_eq!(web["image"].as_str(), Some("nginx:1.25"), "{yaml}");
        assert_eq!(web["deploy"]["replicas"].as_u64(), Some(2), "{yaml}");
        assert!(yaml.contains("80:80"), "{yaml}");
    }
}
