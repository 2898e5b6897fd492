//! Secrets and configs: ours → docker's `swarm.Secret` / `swarm.Config`, and their specs
//! (base64 `Data`) → ours. A secret's data never comes back (the control API clears it); a
//! config's does. External secret drivers and templating are not implemented, so both are
//! refused rather than ignored.

use api::objects as pb;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bollard::models::{Config, ConfigSpec, Driver, Secret, SecretSpec};

use super::{stamps, unsupported};
use crate::error::EngineError;

pub fn secret(o: pb::DataObject) -> Secret {
    let stamps = stamps(o.meta.as_ref());
    let spec = o.spec.unwrap_or_default();
    Secret {
        id: Some(o.id),
        version: stamps.version,
        created_at: stamps.created_at,
        updated_at: stamps.updated_at,
        spec: Some(SecretSpec {
            name: Some(spec.name),
            labels: Some(spec.labels),
            data: None,
            driver: None,
            templating: None,
        }),
    }
}

pub fn config(o: pb::DataObject) -> Config {
    let stamps = stamps(o.meta.as_ref());
    let spec = o.spec.unwrap_or_default();
    Config {
        id: Some(o.id),
        version: stamps.version,
        created_at: stamps.created_at,
        updated_at: stamps.updated_at,
        spec: Some(ConfigSpec {
            name: Some(spec.name),
            labels: Some(spec.labels),
            data: Some(STANDARD.encode(&spec.data)),
            templating: None,
        }),
    }
}

pub fn secret_spec(s: SecretSpec) -> Result<pb::DataSpec, EngineError> {
    no_driver("Driver", &s.driver)?;
    no_driver("Templating", &s.templating)?;
    data_spec(s.name, s.labels, s.data)
}

pub fn config_spec(s: ConfigSpec) -> Result<pb::DataSpec, EngineError> {
    no_driver("Templating", &s.templating)?;
    data_spec(s.name, s.labels, s.data)
}

/// A driver with a name is an option swarmd lacks; an empty one is what "none" looks like.
fn no_driver(path: &str, driver: &Option<Driver>) -> Result<(), EngineError> {
    match driver {
        Some(d) if !d.name.is_empty() => Err(unsupported(path)),
        _ => Ok(()),
    }
}

fn data_spec(
    name: Option<String>,
    labels: Option<std::collections::HashMap<String, String>>,
    data: Option<String>,
) -> Result<pb::DataSpec, EngineError> {
    let data = STANDARD
        .decode(data.unwrap_or_default().trim())
        .map_err(|e| {
            EngineError::bad_request(format!(
                "Data: not valid base64 ({e}); send the bytes base64-encoded (RFC 4648, with \
                 padding)"
            ))
        })?;
    Ok(pb::DataSpec {
        name: name.unwrap_or_default(),
        labels: labels.unwrap_or_default(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_decode_and_configs_show_their_data() {
        let spec = config_spec(ConfigSpec {
            name: Some("c1".into()),
            labels: Some(Default::default()),
            data: Some("Y29uZmlnLWRhdGEK".into()),
            templating: None,
        })
        .unwrap();
        assert_eq!(spec.data, b"config-data\n");
        let shown = config(pb::DataObject {
            id: "c".into(),
            spec: Some(spec.clone()),
            ..Default::default()
        });
        assert_eq!(
            shown.spec.unwrap().data.as_deref(),
            Some("Y29uZmlnLWRhdGEK")
        );
        let shown = secret(pb::DataObject {
            spec: Some(spec),
            ..Default::default()
        });
        assert_eq!(shown.spec.unwrap().data, None);
    }

    #[test]
    fn bad_data_and_drivers_are_refused_by_name() {
        let e = secret_spec(SecretSpec {
            data: Some("not base64!".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.message().starts_with("Data: not valid base64"),
            "{}",
            e.message()
        );
        let vault = Some(Driver {
            name: "vault".into(),
            options: None,
        });
        let e = secret_spec(SecretSpec {
            driver: vault.clone(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message().starts_with("Driver: swarmd does not support"));
        let e = config_spec(ConfigSpec {
            templating: vault,
            ..Default::default()
        })
        .unwrap_err();
        assert!(e
            .message()
            .starts_with("Templating: swarmd does not support"));
    }
}
