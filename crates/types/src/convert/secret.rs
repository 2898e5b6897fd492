//! Secrets and configs, a service's references to them, and the payloads nodes are sent.

use api::dispatcher as pd;
use api::objects as pb;

use super::{enum_in, enum_out, enum_pair, map_in, map_out, ConvertError};
use crate::secret::{DataKind, DataObject, DataPayload, DataReference, DataSpec};

enum_pair!(DataKind, pb::DataKind, { Secret <=> Secret, Config <=> Config });

/// A kind from a request's `kind` field.
pub fn kind_in(value: i32) -> Result<DataKind, ConvertError> {
    enum_in::<pb::DataKind, _>("kind", value)
}

pub fn kind_out(kind: DataKind) -> i32 {
    enum_out::<_, pb::DataKind>(kind)
}

impl From<DataReference> for pb::DataReference {
    fn from(r: DataReference) -> Self {
        pb::DataReference {
            id: r.id,
            name: r.name,
            target: r.target,
            uid: r.uid,
            gid: r.gid,
            mode: r.mode,
        }
    }
}

impl From<pb::DataReference> for DataReference {
    fn from(r: pb::DataReference) -> Self {
        DataReference {
            id: r.id,
            name: r.name,
            target: r.target,
            uid: r.uid,
            gid: r.gid,
            mode: r.mode,
        }
    }
}

impl From<DataSpec> for pb::DataSpec {
    fn from(s: DataSpec) -> Self {
        pb::DataSpec {
            name: s.name,
            labels: map_out(s.labels),
            data: s.data,
        }
    }
}

impl From<pb::DataSpec> for DataSpec {
    fn from(s: pb::DataSpec) -> Self {
        DataSpec {
            name: s.name,
            labels: map_in(s.labels),
            data: s.data,
        }
    }
}

/// A secret's data never crosses the edge outwards: it is cleared here, the one place every
/// answer goes through.
impl From<DataObject> for pb::DataObject {
    fn from(o: DataObject) -> Self {
        let mut spec: pb::DataSpec = o.spec.into();
        if o.kind == DataKind::Secret {
            spec.data.clear();
        }
        pb::DataObject {
            id: o.id,
            meta: Some(o.meta.into()),
            kind: kind_out(o.kind),
            spec: Some(spec),
        }
    }
}

impl TryFrom<pb::DataObject> for DataObject {
    type Error = ConvertError;
    fn try_from(o: pb::DataObject) -> Result<Self, ConvertError> {
        Ok(DataObject {
            id: o.id,
            meta: o.meta.map(Into::into).unwrap_or_default(),
            kind: kind_in(o.kind)?,
            spec: o.spec.map(Into::into).unwrap_or_default(),
        })
    }
}

impl From<DataPayload> for pd::DataPayload {
    fn from(p: DataPayload) -> Self {
        pd::DataPayload {
            kind: kind_out(p.kind),
            id: p.id,
            data: p.data,
        }
    }
}

impl TryFrom<pd::DataPayload> for DataPayload {
    type Error = ConvertError;
    fn try_from(p: pd::DataPayload) -> Result<Self, ConvertError> {
        Ok(DataPayload {
            kind: kind_in(p.kind)?,
            id: p.id,
            data: p.data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secrets_data_never_leaves_a_config_does() {
        let object = |kind| DataObject {
            id: "d1".into(),
            kind,
            spec: DataSpec {
                name: "pw".into(),
                labels: [("a".to_string(), "b".to_string())].into(),
                data: b"hunter2".to_vec(),
            },
            ..Default::default()
        };
        let secret: pb::DataObject = object(DataKind::Secret).into();
        assert!(secret.spec.as_ref().unwrap().data.is_empty());
        let back = DataObject::try_from(secret).unwrap();
        assert_eq!(back.spec.name, "pw");
        assert_eq!(back.spec.labels["a"], "b");
        let config: pb::DataObject = object(DataKind::Config).into();
        assert_eq!(
            DataObject::try_from(config).unwrap(),
            object(DataKind::Config)
        );
        let r = DataReference {
            id: "d1".into(),
            name: "pw".into(),
            target: "/etc/pw".into(),
            uid: "10".into(),
            gid: "20".into(),
            mode: 0o400,
        };
        assert_eq!(DataReference::from(pb::DataReference::from(r.clone())), r);
        let p = DataPayload {
            kind: DataKind::Config,
            id: "d1".into(),
            data: vec![1, 2],
        };
        assert_eq!(
            DataPayload::try_from(pd::DataPayload::from(p.clone())).unwrap(),
            p
        );
        assert!(kind_in(7).is_err());
    }
}
