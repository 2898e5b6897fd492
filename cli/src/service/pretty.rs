//! `service inspect --pretty`, laid out like docker's.

use types::{Service, ServiceMode};

use crate::parse::format_duration_ms;

/// Docker's names for rollout states.
fn update_state(s: types::UpdateState) -> &'static str {
    use types::UpdateState::*;
    match s {
        Unknown => "unknown",
        Updating => "updating",
        Paused => "paused",
        Completed => "completed",
        RollbackStarted => "rollback_started",
        RollbackPaused => "rollback_paused",
        RollbackCompleted => "rollback_completed",
    }
}

/// `service inspect --pretty`, laid out like docker's; `networks` names the networks the
/// spec holds by ID.
pub fn pretty(s: &Service, networks: &[types::Network]) -> String {
    let spec = &s.spec;
    let c = &spec.task.container;
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<20}{v}\n"));
    line("ID:", s.id.clone());
    line("Name:", spec.name.clone());
    if !spec.labels.is_empty() {
        line("Labels:", String::new());
        for (k, v) in &spec.labels {
            line(&format!(" {k}"), format!("= {v}"));
        }
    }
    match spec.mode {
        ServiceMode::Replicated { replicas } => {
            line("Service Mode:", "Replicated".into());
            line(" Replicas:", replicas.to_string());
        }
        ServiceMode::Global => line("Service Mode:", "Global".into()),
    }
    if let Some(u) = &s.update_status {
        line("UpdateStatus:", String::new());
        line(" State:", update_state(u.state).into());
        if !u.message.is_empty() {
            line(" Message:", u.message.clone());
        }
    }
    let p = &spec.task.placement;
    line("Placement:", String::new());
    if !p.constraints.is_empty() {
        line(" Constraints:", format!("[{}]", p.constraints.join(" ")));
    }
    if !p.preferences.is_empty() {
        line(" Preferences:", format!("[{}]", p.preferences.join(" ")));
    }
    if p.max_replicas > 0 {
        line(" Max Replicas:", p.max_replicas.to_string());
    }
    let r = &spec.task.restart;
    line("RestartPolicy:", String::new());
    line(" Condition:", r.condition.as_str().into());
    line(" Delay:", format_duration_ms(r.delay_ms));
    line(" Max attempts:", r.max_attempts.to_string());
    let u = &spec.update;
    line("UpdateConfig:", String::new());
    line(" Parallelism:", u.parallelism.to_string());
    if u.delay_ms > 0 {
        line(" Delay:", format_duration_ms(u.delay_ms));
    }
    line(
        " On failure:",
        format!("{:?}", u.failure_action).to_lowercase(),
    );
    line(" Monitoring Period:", format_duration_ms(u.monitor_ms));
    line(" Max failure ratio:", u.max_failure_ratio.to_string());
    line(
        " Update order:",
        match u.order {
            types::UpdateOrder::StopFirst => "stop-first".into(),
            types::UpdateOrder::StartFirst => "start-first".into(),
        },
    );
    line("ContainerSpec:", String::new());
    line(" Image:", c.image.clone());
    if !c.command.is_empty() {
        line(" Command:", c.command.join(" "));
    }
    if !c.args.is_empty() {
        line(" Args:", c.args.join(" "));
    }
    if !c.env.is_empty() {
        line(" Env:", c.env.join(" "));
    }
    if let Some(hc) = &c.healthcheck {
        line(" Healthcheck:", hc.test.join(" "));
    }
    if !c.mounts.is_empty() {
        line("Mounts:", String::new());
        for m in &c.mounts {
            line(" Target:", m.target.clone());
            if !m.source.is_empty() {
                line("  Source:", m.source.clone());
            }
            line("  ReadOnly:", m.readonly.to_string());
            line("  Type:", m.kind.to_string());
            if m.tmpfs_size_bytes > 0 {
                line("  Size:", crate::parse::format_bytes(m.tmpfs_size_bytes));
            }
        }
    }
    for (title, kind, refs) in [
        ("Configs:", types::DataKind::Config, &c.configs),
        ("Secrets:", types::DataKind::Secret, &c.secrets),
    ] {
        if !refs.is_empty() {
            line(title, String::new());
            for r in refs {
                line(" Target:", r.container_path(kind));
                let source = if r.name.is_empty() { &r.id } else { &r.name };
                line("  Source:", source.clone());
            }
        }
    }
    let res = &spec.task.resources;
    if res.reservations != types::Resources::default() || res.limits != types::Resources::default()
    {
        line("Resources:", String::new());
        for (title, r) in [
            (" Reservations:", &res.reservations),
            (" Limits:", &res.limits),
        ] {
            if *r != types::Resources::default() {
                line(title, String::new());
                if r.nano_cpus > 0 {
                    line("  CPU:", format!("{}", r.nano_cpus as f64 / 1e9));
                }
                if r.memory_bytes > 0 {
                    line("  Memory:", crate::parse::format_bytes(r.memory_bytes));
                }
            }
        }
    }
    if !spec.task.networks.is_empty() {
        line("Networks:", String::new());
        for n in &spec.task.networks {
            let vip = s.virtual_ips.iter().find(|v| v.network_id == n.target);
            let mut v = vip.map_or(String::new(), |v| format!("VIP {}", v.addr));
            if !n.aliases.is_empty() {
                v.push_str(&format!(" aliases [{}]", n.aliases.join(" ")));
            }
            let name = networks
                .iter()
                .find(|net| net.id == n.target)
                .map_or(n.target.as_str(), |net| net.spec.name.as_str());
            line(&format!(" {name}"), v.trim().to_string());
        }
    }
    line("Endpoint Mode:", spec.endpoint.mode.as_str().into());
    if !s.endpoint_ports.is_empty() {
        line("Ports:", String::new());
        for p in &s.endpoint_ports {
            line(" PublishedPort =", p.published_port.to_string());
            line("  Protocol =", p.protocol.as_str().into());
            line("  TargetPort =", p.target_port.to_string());
            line("  PublishMode =", p.publish_mode.as_str().into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_show_by_name_with_their_vip_and_aliases() {
        let mut s = Service {
            id: "s1".into(),
            virtual_ips: vec![types::VirtualIp {
                network_id: "n1".into(),
                addr: "10.0.1.2".into(),
            }],
            ..Default::default()
        };
        s.spec.task.networks = vec![types::NetworkTarget {
            target: "n1".into(),
            aliases: vec!["www".into()],
        }];
        let net = types::Network {
            id: "n1".into(),
            meta: Default::default(),
            spec: types::NetworkSpec::overlay("back"),
        };
        let out = pretty(&s, &[net]);
        assert!(
            out.contains(" back               VIP 10.0.1.2 aliases [www]"),
            "{out}"
        );
        assert!(out.contains("Endpoint Mode:      vip"), "{out}");
        assert!(
            pretty(&s, &[]).contains(" n1 "),
            "an unknown network shows its ID"
        );
    }

    #[test]
    fn secrets_and_configs_show_their_files_and_sources() {
        let mut s = Service::default();
        let r = |id: &str, name: &str, target: &str| types::DataReference {
            id: id.into(),
            name: name.into(),
            target: target.into(),
            ..Default::default()
        };
        s.spec.task.container.secrets = vec![r("id1", "pw", "pw")];
        s.spec.task.container.configs = vec![r("id2", "", "/etc/app.conf")];
        let out = pretty(&s, &[]);
        let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
        let at = lines
            .iter()
            .position(|l| *l == "Configs:")
            .expect("Configs:");
        assert_eq!(
            lines[at..at + 6],
            [
                "Configs:",
                " Target:            /etc/app.conf",
                "  Source:           id2",
                "Secrets:",
                " Target:            /run/secrets/pw",
                "  Source:           pw",
            ],
            "{out}"
        );
        assert!(!pretty(&Service::default(), &[]).contains("Secrets:"));
    }
}
