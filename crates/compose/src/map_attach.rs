//! What a service is attached to: published ports, networks, mounts (volumes, bind mounts,
//! tmpfs) and secret and config files, short and long syntax.

use std::collections::BTreeSet;

use types::{
    DataReference, Mount, MountKind, NetworkTarget, PortConfig, PortProtocol, PublishMode,
};

use crate::error::ComposeError;
use crate::map_top::{Names, DEFAULT_NETWORK};
use crate::model::{DataRefLong, PortLong, Service, VolumeLong};
use crate::scalar::{ShortOrLong, Text};
use crate::units::parse_size_bytes;

fn text(t: &Option<Text>) -> Option<&str> {
    t.as_ref().map(|t| t.0.as_str())
}

/// `8080:80`, `80`, `8080:80/udp`, `127.0.0.1:8080:80`, `8000-8001:80-81`, or long syntax.
pub fn ports(
    key: &str,
    entries: &[ShortOrLong<PortLong>],
    ignored: &mut BTreeSet<String>,
) -> Result<Vec<PortConfig>, ComposeError> {
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("services.{key}.ports[{i}]");
        let bad = |what: &str| ComposeError::invalid(&path, what.to_string());
        match entry {
            ShortOrLong::Short(s) => {
                let (spec, proto) = s.split_once('/').unwrap_or((s, "tcp"));
                let protocol = protocol(proto)
                    .ok_or_else(|| bad(&format!("protocol `{proto}` is not tcp or udp")))?;
                let mut parts: Vec<&str> = spec.rsplitn(3, ':').collect();
                parts.reverse();
                if parts.len() == 3 {
                    ignored.insert("ports.host_ip".into());
                    parts.remove(0);
                }
                let range = |r: &str| -> Option<(u32, u32)> {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
                };
                let form = "is not a port; write `8080:80`, `80` or `8080:80/udp`";
                let target = range(parts.last().copied().unwrap_or(""))
                    .ok_or_else(|| bad(&format!("`{s}` {form}")))?;
                let published = match parts.len() {
                    2 => Some(range(parts[0]).ok_or_else(|| bad(&format!("`{s}` {form}")))?),
                    _ => None,
                };
                let count = target.1.saturating_sub(target.0) + 1;
                if published.is_some_and(|p| p.1.saturating_sub(p.0) + 1 != count) {
                    return Err(bad(&format!("`{s}` maps port ranges of different lengths")));
                }
                for n in 0..count {
                    out.push(PortConfig {
                        protocol,
                        target_port: target.0 + n,
                        published_port: published.map_or(0, |p| p.0 + n),
                        publish_mode: PublishMode::Ingress,
                    });
                }
            }
            ShortOrLong::Long(long) => {
                let target = long
                    .target
                    .ok_or_else(|| bad("a long-syntax port needs `target`"))?
                    .0;
                let published = match text(&long.published) {
                    None | Some("") => 0,
                    Some(p) => p.parse().map_err(|_| {
                        ComposeError::invalid(
                            format!("{path}.published"),
                            format!("expected a port number, got {p:?}"),
                        )
                    })?,
                };
                let proto = text(&long.protocol).unwrap_or("tcp");
                let mode = match text(&long.mode).unwrap_or("ingress") {
                    "ingress" => PublishMode::Ingress,
                    "host" => PublishMode::Host,
                    other => {
                        return Err(ComposeError::invalid(
                            format!("{path}.mode"),
                            format!("`{other}` is not ingress or host"),
                        ))
                    }
                };
                out.push(PortConfig {
                    protocol: protocol(proto).ok_or_else(|| {
                        ComposeError::invalid(
                            format!("{path}.protocol"),
                            format!("`{proto}` is not tcp or udp"),
                        )
                    })?,
                    target_port: u32::try_from(target).unwrap_or(u32::MAX),
                    published_port: published,
                    publish_mode: mode,
                });
            }
        }
    }
    Ok(out)
}

fn protocol(s: &str) -> Option<PortProtocol> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Some(PortProtocol::Tcp),
        "udp" => Some(PortProtocol::Udp),
        _ => None,
    }
}

/// The network keys a service uses: its own, or `default`.
pub fn network_keys(service: &Service) -> Vec<String> {
    match service.networks.0.is_empty() {
        true => vec![DEFAULT_NETWORK.to_string()],
        false => service.networks.0.keys().cloned().collect(),
    }
}

/// Targets by final name; the service's own name is an alias on each, as docker adds it.
pub fn networks(
    key: &str,
    service: &Service,
    names: &Names,
) -> Result<Vec<NetworkTarget>, ComposeError> {
    network_keys(service)
        .into_iter()
        .map(|net| {
            let target = names.network(&net).ok_or_else(|| {
                ComposeError::invalid(
                    format!("services.{key}.networks.{net}"),
                    format!("network `{net}` is not declared under the top-level `networks`"),
                )
            })?;
            let mut aliases: Vec<String> = service
                .networks
                .0
                .get(&net)
                .cloned()
                .flatten()
                .map(|n| n.aliases.into_iter().map(|t| t.0).collect())
                .unwrap_or_default();
            aliases.push(key.to_string());
            Ok(NetworkTarget { target, aliases })
        })
        .collect()
}

/// `name:/path[:ro]`, `/host:/path[:ro]`, `/path` (anonymous volume), or long syntax.
pub fn mounts(
    key: &str,
    entries: &[ShortOrLong<VolumeLong>],
    names: &Names,
) -> Result<Vec<Mount>, ComposeError> {
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("services.{key}.volumes[{i}]");
        let mut mount = match entry {
            ShortOrLong::Short(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                let (source, target, opts) = match parts.as_slice() {
                    [target] => ("", *target, ""),
                    [source, target] => (*source, *target, ""),
                    [source, target, opts] => (*source, *target, *opts),
                    _ => {
                        return Err(ComposeError::invalid(
                            &path,
                            format!("`{s}` is not `source:/path[:ro]`"),
                        ))
                    }
                };
                let kind = if source.starts_with('/') {
                    MountKind::Bind
                } else {
                    MountKind::Volume
                };
                Mount {
                    kind,
                    source: source.into(),
                    target: target.into(),
                    readonly: opts.split(',').any(|o| o == "ro"),
                    ..Mount::default()
                }
            }
            ShortOrLong::Long(long) => {
                let kind = text(&long.kind)
                    .unwrap_or("volume")
                    .parse::<MountKind>()
                    .map_err(|e| ComposeError::invalid(format!("{path}.type"), e))?;
                let mut mount = Mount {
                    kind,
                    source: text(&long.source).unwrap_or_default().into(),
                    target: text(&long.target).unwrap_or_default().into(),
                    readonly: long.read_only.is_some_and(|f| f.0),
                    ..Mount::default()
                };
                if let Some(tmpfs) = &long.tmpfs {
                    if let Some(size) = text(&tmpfs.size) {
                        mount.tmpfs_size_bytes = parse_size_bytes(size)
                            .map_err(|e| ComposeError::invalid(format!("{path}.tmpfs.size"), e))?;
                    }
                    mount.tmpfs_mode = tmpfs
                        .mode
                        .map_or(0, |m| u32::from_str_radix(&m.0.to_string(), 8).unwrap_or(0));
                }
                mount
            }
        };
        if mount.kind == MountKind::Volume && !mount.source.is_empty() {
            let def = names.file.volumes.get(&mount.source).ok_or_else(|| {
                ComposeError::invalid(
                    &path,
                    format!(
                        "volume `{}` is not declared under the top-level `volumes`",
                        mount.source
                    ),
                )
            })?;
            let def = def.clone().unwrap_or_default();
            let external = def.external.as_ref().is_some_and(|e| e.external().0);
            mount.source = match (&def.name, external) {
                (Some(name), _) => name.0.clone(),
                (None, true) => mount.source.clone(),
                (None, false) => names.scoped(&mount.source),
            };
            mount.volume_driver = text(&def.driver).unwrap_or_default().into();
            mount.volume_options = crate::map_top::plain(def.driver_opts.as_ref());
        }
        out.push(mount);
    }
    Ok(out)
}

/// Secret (`secrets`) or config (`configs`) references. The default target is the source's key
/// (secrets: `/run/secrets/KEY`) or `/KEY` (configs), not the object's stack-scoped name.
pub fn data_refs(
    key: &str,
    section: &str,
    entries: &[ShortOrLong<DataRefLong>],
    names: &Names,
) -> Result<Vec<DataReference>, ComposeError> {
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("services.{key}.{section}[{i}]");
        let long = match entry {
            ShortOrLong::Short(s) => DataRefLong {
                source: Some(Text(s.clone())),
                ..Default::default()
            },
            ShortOrLong::Long(l) => l.clone(),
        };
        let source =
            text(&long.source).ok_or_else(|| ComposeError::invalid(&path, "needs a `source`"))?;
        let name = match section {
            "secrets" => names.secret(source),
            _ => names.config(source),
        }
        .ok_or_else(|| {
            ComposeError::invalid(
                &path,
                format!("`{source}` is not declared under the top-level `{section}`"),
            )
        })?;
        let default_target = if section == "secrets" {
            source.to_string()
        } else {
            format!("/{source}")
        };
        let mode = match text(&long.mode) {
            None => 0o444,
            Some(m) => u32::from_str_radix(m, 8).map_err(|_| {
                ComposeError::invalid(
                    format!("{path}.mode"),
                    format!("expected octal permission bits such as 0440, got {m:?}"),
                )
            })?,
        };
        out.push(DataReference {
            id: name.clone(),
            name,
            target: text(&long.target).map_or(default_target, str::to_string),
            uid: text(&long.uid).unwrap_or("0").into(),
            gid: text(&long.gid).unwrap_or("0").into(),
            mode,
        });
    }
    Ok(out)
}
