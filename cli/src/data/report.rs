//! What `secret`/`config` `ls` and `inspect` show. A secret's data never: the manager does not
//! send it, and nothing here would print it if it did. A config's data is shown, as text when
//! it is UTF-8.

use std::collections::BTreeMap;

use serde::Serialize;
use types::{DataKind, DataObject, Meta};

use crate::output::{human_duration, rfc3339_ms};

/// `ls` columns, as docker's `secret ls` / `config ls`, and their `--format json` keys.
pub const LS_HEADERS: [&str; 4] = ["ID", "NAME", "CREATED", "UPDATED"];
pub const LS_KEYS: [&str; 4] = ["ID", "Name", "CreatedAt", "UpdatedAt"];

/// One `ls` row: the full ID (as docker shows it for secrets and configs), the name and ages.
pub fn ls_row(o: &DataObject, now_ms: i64) -> Vec<String> {
    vec![
        o.id.clone(),
        o.spec.name.clone(),
        age(o.meta.created_at_ms, now_ms),
        age(o.meta.updated_at_ms, now_ms),
    ]
}

/// `5 minutes ago`, as docker's ls commands show times.
fn age(at_ms: i64, now_ms: i64) -> String {
    if at_ms <= 0 {
        return String::new();
    }
    format!("{} ago", human_duration(now_ms - at_ms))
}

/// What `inspect` prints (in its JSON array) for one object.
#[derive(Debug, Serialize)]
pub struct DataReport {
    pub id: String,
    pub meta: Meta,
    pub kind: &'static str,
    pub spec: SpecReport,
}

#[derive(Debug, Serialize)]
pub struct SpecReport {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// A config's data as text; absent for secrets and for data that is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// A config's data that is not UTF-8, in base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

pub fn report(o: DataObject) -> DataReport {
    let (data, data_base64) = match (o.kind, String::from_utf8(o.spec.data)) {
        (DataKind::Secret, _) => (None, None),
        (DataKind::Config, Ok(text)) => (Some(text), None),
        (DataKind::Config, Err(e)) => (None, Some(base64(e.as_bytes()))),
    };
    DataReport {
        id: o.id,
        meta: o.meta,
        kind: o.kind.as_str(),
        spec: SpecReport {
            name: o.spec.name,
            labels: o.spec.labels,
            data,
            data_base64,
        },
    }
}

/// `inspect --pretty`, laid out like docker's `secret inspect --pretty` and `config inspect
/// --pretty` (which alone has the `Data:` section).
pub fn pretty(r: &DataReport) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| {
        out.push_str(format!("{k:<16}{v}").trim_end());
        out.push('\n');
    };
    line("ID:", &r.id);
    line("Name:", &r.spec.name);
    if !r.spec.labels.is_empty() {
        line("Labels:", "");
        for (k, v) in &r.spec.labels {
            match v.is_empty() {
                true => line(&format!(" - {k}"), ""),
                false => line(&format!(" - {k}={v}"), ""),
            }
        }
    }
    line("Created at:", &rfc3339_ms(r.meta.created_at_ms));
    line("Updated at:", &rfc3339_ms(r.meta.updated_at_ms));
    if r.kind == DataKind::Config.as_str() {
        out.push_str("Data:\n");
        match (&r.spec.data, &r.spec.data_base64) {
            (Some(text), _) => {
                out.push_str(text);
                if !text.ends_with('\n') {
                    out.push('\n');
                }
            }
            (None, Some(b64)) => out.push_str(&format!(
                "({} characters of base64: the data is not UTF-8 text)\n{b64}\n",
                b64.len()
            )),
            (None, None) => {}
        }
    }
    out
}

/// Standard base64 with padding, for config data that is not text.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            match i <= chunk.len() {
                true => out.push(ALPHABET[(n >> shift) as usize & 63] as char),
                false => out.push('='),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::DataSpec;

    fn object(kind: DataKind, data: &[u8]) -> DataObject {
        DataObject {
            id: "abc123def456ghi789jkl0mno".into(),
            meta: Meta {
                version: 7,
                created_at_ms: 1_714_564_800_123,
                updated_at_ms: 1_714_564_800_123,
            },
            kind,
            spec: DataSpec {
                name: "app".into(),
                labels: [("team".to_string(), "a".to_string())].into(),
                data: data.to_vec(),
            },
        }
    }

    #[test]
    fn a_secrets_data_is_never_shown() {
        // Even were the manager to send it.
        let r = report(object(DataKind::Secret, b"hunter2"));
        let json = serde_json::to_string(&r).unwrap();
        let text = pretty(&r);
        for shown in [&json, &text] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("Data"), "{shown}");
        }
        assert_eq!(
            text,
            "ID:             abc123def456ghi789jkl0mno\n\
             Name:           app\n\
             Labels:\n \
             - team=a\n\
             Created at:     2024-05-01T12:00:00.123Z\n\
             Updated at:     2024-05-01T12:00:00.123Z\n"
        );
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["spec"]["name"], "app");
        assert_eq!(json["kind"], "secret");
        assert_eq!(json["meta"]["version"], 7);
        assert!(json["spec"].get("data").is_none());
    }

    #[test]
    fn a_configs_data_is_shown_as_text_or_base64() {
        let r = report(object(DataKind::Config, b"listen 80;\n"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["spec"]["data"], "listen 80;\n");
        assert_eq!(json["kind"], "config");
        let text = pretty(&r);
        assert!(text.starts_with("ID:             abc123"), "{text}");
        assert!(
            text.ends_with("Updated at:     2024-05-01T12:00:00.123Z\nData:\nlisten 80;\n"),
            "{text}"
        );
        let binary = report(object(DataKind::Config, &[0xff, 0x00, 0x10]));
        let json = serde_json::to_value(&binary).unwrap();
        assert!(json["spec"].get("data").is_none());
        assert_eq!(json["spec"]["data_base64"], "/wAQ");
        assert!(pretty(&binary).ends_with("not UTF-8 text)\n/wAQ\n"));
    }

    #[test]
    fn ls_rows_and_base64() {
        let o = object(DataKind::Secret, b"");
        let row = ls_row(&o, o.meta.created_at_ms + 5_000);
        assert_eq!(
            row,
            [
                "abc123def456ghi789jkl0mno",
                "app",
                "5 seconds ago",
                "5 seconds ago"
            ]
        );
        assert_eq!(ls_row(&DataObject::default(), 1)[2], "");
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(bytes), text);
        }
    }
}
