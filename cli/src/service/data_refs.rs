//! `service update --secret-add/--secret-rm/--config-add/--config-rm`: a service's references
//! to secrets and configs, removed by the name the user knows and added once each.

use anyhow::{bail, Result};
use types::{DataKind, DataReference, ServiceSpec};

use super::UpdateArgs;

/// Applies the four flags to `spec`: removals first, so `--secret-rm pw --secret-add
/// source=pw,target=other` moves a secret's file.
pub fn apply(args: &UpdateArgs, spec: &mut ServiceSpec) -> Result<()> {
    let service = spec.name.clone();
    let c = &mut spec.task.container;
    for (kind, refs, rm, add) in [
        (
            DataKind::Secret,
            &mut c.secrets,
            &args.secret_rm,
            &args.secret_add,
        ),
        (
            DataKind::Config,
            &mut c.configs,
            &args.config_rm,
            &args.config_add,
        ),
    ] {
        let what = kind.as_str();
        for query in rm {
            let before = refs.len();
            refs.retain(|r| !names(r, query));
            if refs.len() == before {
                bail!("invalid --{what}-rm: service {service} has no {what} `{query}`");
            }
        }
        for added in add {
            if refs.iter().any(|r| names(r, &added.id)) {
                bail!(
                    "invalid --{what}-add: service {service} has {what} `{}` already; \
                     remove it in the same update with --{what}-rm {} to change its file",
                    added.id,
                    added.id
                );
            }
            refs.push(added.clone());
        }
    }
    Ok(())
}

/// Whether `query` names the object `r` refers to: its name or an ID prefix once the manager
/// has resolved it (a stored spec), the name typed otherwise.
fn names(r: &DataReference, query: &str) -> bool {
    if r.name.is_empty() {
        r.id == query
    } else {
        r.name == query || (!query.is_empty() && r.id.starts_with(query))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{flags, spec_from_create, ServiceCommand};
    use super::*;

    #[derive(Parser)]
    struct Probe {
        #[command(subcommand)]
        command: ServiceCommand,
    }

    fn parse(args: &[&str]) -> Result<ServiceCommand, clap::Error> {
        Probe::try_parse_from(std::iter::once("service").chain(args.iter().copied()))
            .map(|p| p.command)
    }

    fn create(args: &[&str]) -> Result<ServiceSpec> {
        let all: Vec<&str> = ["create", "--name=web"]
            .into_iter()
            .chain(args.iter().copied())
            .chain(["nginx"])
            .collect();
        match parse(&all)? {
            ServiceCommand::Create(c) => spec_from_create(&c),
            other => panic!("parsed as {other:?}"),
        }
    }

    fn paths(refs: &[DataReference], kind: DataKind) -> Vec<String> {
        refs.iter()
            .map(|r| format!("{} {}", r.id, r.container_path(kind)))
            .collect()
    }

    #[test]
    fn create_takes_secrets_and_configs() {
        let spec = create(&[
            "--secret=pw",
            "--secret",
            "source=tls.key,target=/etc/tls/key,uid=0,gid=0,mode=0400",
            "--config=app.conf",
            "--config",
            "src=nginx.conf,target=/etc/nginx/nginx.conf",
        ])
        .unwrap();
        let c = &spec.task.container;
        assert_eq!(
            paths(&c.secrets, DataKind::Secret),
            ["pw /run/secrets/pw", "tls.key /etc/tls/key"]
        );
        assert_eq!((c.secrets[0].mode, c.secrets[1].mode), (0, 0o400));
        assert_eq!(
            paths(&c.configs, DataKind::Config),
            ["app.conf /app.conf", "nginx.conf /etc/nginx/nginx.conf"]
        );
    }

    #[test]
    fn bad_references_name_the_flag() {
        let e = parse(&["create", "--secret=source=x,colour=red", "nginx"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--secret") && e.contains("`colour`"), "{e}");
        let e = parse(&["create", "--config=source=x,mode=rw", "nginx"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--config") && e.contains("mode `rw`"), "{e}");
        for (args, words) in [
            (&["--secret=source=pw,target=../x"][..], "invalid --secret:"),
            (&["--secret=source=pw,uid=root"], "invalid --secret:"),
            (&["--secret=source=pw,mode=1777"], "invalid --secret:"),
            (&["--secret=pw", "--secret=pw"], "invalid --secret:"),
            (&["--config=source=c,target=etc/c"], "invalid --config:"),
            (
                &["--secret=source=a,target=/x", "--config=source=b,target=/x"],
                "twice",
            ),
        ] {
            let e = create(args).unwrap_err().to_string();
            assert!(e.contains(words), "{args:?}: {e}");
        }
    }

    #[test]
    fn update_removes_by_name_or_id_and_adds_once() {
        let mut stored = create(&["--secret=pw", "--secret=key", "--config=app.conf"]).unwrap();
        // As stored: IDs, with the names beside them.
        for (r, id) in stored
            .task
            .container
            .secrets
            .iter_mut()
            .zip(["id-pw", "id-key"])
        {
            r.name = std::mem::replace(&mut r.id, id.into());
        }
        let conf = &mut stored.task.container.configs[0];
        conf.name = std::mem::replace(&mut conf.id, "id-conf".into());
        let update = |args: &[&str]| super::super::tests::update_spec(&stored, &[], args);
        let spec = update(&[
            "--secret-rm=pw",
            "--secret-add=source=pw2,target=pw",
            "--config-rm=id-co",
            "--config-add=source=new.conf,target=/etc/app.conf",
        ])
        .unwrap();
        let c = &spec.task.container;
        assert_eq!(
            paths(&c.secrets, DataKind::Secret),
            ["id-key /run/secrets/key", "pw2 /run/secrets/pw"]
        );
        assert_eq!(
            paths(&c.configs, DataKind::Config),
            ["new.conf /etc/app.conf"]
        );
        let spec = update(&["--secret-rm=pw", "--secret-add=pw"]).unwrap();
        assert_eq!(spec.task.container.secrets.len(), 2, "moved to the end");
        for (args, words) in [
            (
                &["--secret-rm=nosuch"][..],
                "invalid --secret-rm: service web has no secret `nosuch`",
            ),
            (
                &["--config-rm=pw"],
                "invalid --config-rm: service web has no config `pw`",
            ),
            (
                &["--secret-add=key"],
                "invalid --secret-add: service web has secret `key` already",
            ),
            (&["--config-add=app.conf"], "invalid --config-add"),
            (
                &["--secret-add=source=x,target=key"],
                "invalid --secret: /run/secrets/key is given twice",
            ),
        ] {
            let e = update(args).unwrap_err().to_string();
            assert!(e.contains(words), "{args:?}: {e}");
        }
    }

    #[test]
    fn manager_refusals_name_the_flag() {
        let named = |m: &str| flags::name_flag(anyhow::anyhow!("{m}")).to_string();
        assert_eq!(
            named("invalid spec.task.container.secrets[0]: secret nosuch not found; create it with `swarmctl secret create nosuch FILE`"),
            "invalid --secret: secret nosuch not found; create it with `swarmctl secret create nosuch FILE` (spec.task.container.secrets[0])"
        );
        assert!(named("invalid spec.task.container.configs[1].target: x")
            .starts_with("invalid --config: x"));
        assert!(named("invalid spec.task.networks[0].target: y").contains("networks[0]"));
        assert_eq!(
            named("a service named web already exists"),
            "a service named web already exists"
        );
        assert_eq!(named("invalid spec.unknown: z"), "invalid spec.unknown: z");
    }
}
