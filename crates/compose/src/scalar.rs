//! The scalar and "this or that" shapes compose files allow, read leniently: after
//! interpolation every value may be a string (`replicas: ${N}` is `"3"`), so numbers and
//! booleans are accepted as strings too, and errors say what was expected and what was found.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Any scalar, as the text docker would see (`true`, `3`, `0.5`, `web`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text(pub String);

/// A non-negative integer, or a string holding one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Int(pub u64);

/// A boolean, or `"true"`/`"false"` (any case).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flag(pub bool);

/// A number, or a string holding one (`cpus: 0.5`, `max_failure_ratio: "0.1"`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Float(pub f64);

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, a number or a boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor).map(Text)
    }
}

/// Reads a scalar and parses its text, failing with `expected WHAT, got "TEXT"`.
fn parse_scalar<'de, D, T>(
    d: D,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let text = d.deserialize_any(ScalarVisitor)?;
    parse(text.trim()).ok_or_else(|| de::Error::custom(format!("expected {what}, got {text:?}")))
}

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_scalar(d, "an integer", |s| s.parse().ok()).map(Int)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_scalar(d, "true or false", |s| {
            match s.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => None,
            }
        })
        .map(Flag)
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_scalar(d, "a number", |s| s.parse().ok()).map(Float)
    }
}

/// `command: echo hi` (split as a shell would) or `command: ["echo", "hi"]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Words(pub Vec<String>);

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_or_list(d, |v| {
            shlex::split(v).ok_or_else(|| format!("unbalanced quotes in {v:?}"))
        })
        .map(Words)
    }
}

/// A list of strings as given, or a string turned into one by `words`.
fn string_or_list<'de, D: Deserializer<'de>>(
    d: D,
    words: fn(&str) -> Result<Vec<String>, String>,
) -> Result<Vec<String>, D::Error> {
    struct V(fn(&str) -> Result<Vec<String>, String>);
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a list of strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            (self.0)(v).map_err(E::custom)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<String>, A::Error> {
            strings(seq)
        }
    }
    d.deserialize_any(V(words))
}

fn strings<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<String>, A::Error> {
    let mut out = Vec::new();
    while let Some(Text(s)) = seq.next_element()? {
        out.push(s);
    }
    Ok(out)
}

/// A health check's `test`: `["CMD", ..]` as given, or a string, which runs in a shell
/// (`["CMD-SHELL", string]`), as docker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthTest(pub Vec<String>);

impl<'de> Deserialize<'de> for HealthTest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_or_list(d, |v| Ok(vec!["CMD-SHELL".into(), v.to_string()])).map(HealthTest)
    }
}

/// `KEY: value` maps and `- KEY=value` lists (environment, labels): `None` for a key with no
/// value (`- KEY`, `KEY:`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyValues(pub BTreeMap<String, Option<String>>);

impl<'de> Deserialize<'de> for KeyValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BTreeMap<String, Option<String>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map or a list of KEY=VALUE strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(Text(item)) = seq.next_element()? {
                    match item.split_once('=') {
                        Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                        None => out.insert(item, None),
                    };
                }
                Ok(out)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((Text(k), v)) = map.next_entry::<Text, Option<Text>>()? {
                    out.insert(k, v.map(|t| t.0));
                }
                Ok(out)
            }
        }
        d.deserialize_any(V).map(KeyValues)
    }
}

/// A list item in short syntax (`"8080:80"`, `db-data:/var/lib/db`, `pw`) or long syntax (a
/// map read into `L`).
#[derive(Debug, Clone, PartialEq)]
pub enum ShortOrLong<L> {
    Short(String),
    Long(L),
}

impl<'de, L: Deserialize<'de>> Deserialize<'de> for ShortOrLong<L> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<L>(std::marker::PhantomData<L>);
        impl<'de, L: Deserialize<'de>> Visitor<'de> for V<L> {
            type Value = ShortOrLong<L>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a map")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ShortOrLong::Short(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ShortOrLong::Short(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ShortOrLong::Short(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                L::deserialize(de::value::MapAccessDeserializer::new(map)).map(ShortOrLong::Long)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A list of names (`[front, back]`) or a map of names to settings (`{front: {aliases: [..]}}`,
/// `{front: }`), as `networks` and `depends_on` allow.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMap<T>(pub BTreeMap<String, Option<T>>);

impl<T> Default for NamedMap<T> {
    fn default() -> Self {
        NamedMap(BTreeMap::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NamedMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = BTreeMap<String, Option<T>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of names or a map")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(Text(name)) = seq.next_element()? {
                    out.insert(name, None);
                }
                Ok(out)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((Text(k), v)) = map.next_entry::<Text, Option<T>>()? {
                    out.insert(k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData)).map(NamedMap)
    }
}
