//! The I/O of `stack deploy` and `stack rm`: read the cluster, let [`super::decide`] say what
//! to do, do it, and print docker's lines.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use api::control as pc;
use compose::Condition;
use types::convert::secret::kind_out;
use types::DataKind;

use super::decide::{self, Action};
use super::DeployArgs;
use crate::client::{Control, StatusExt};

const POLL: Duration = Duration::from_millis(500);
/// How long `stack rm` retries a network whose tasks are still stopping.
const NETWORK_RM_RETRY: Duration = Duration::from_secs(30);

pub async fn deploy(client: &mut Control, args: DeployArgs) -> Result<()> {
    let plan = match args.plan {
        Some(plan) => plan,
        None => bail!("the compose files were not read"),
    };
    if !plan.ignored.is_empty() {
        println!("Ignoring unsupported options: {}", plan.ignored.join(", "));
    }
    let current = super::current(client).await?;
    let missing = decide::missing_externals(&plan, &current);
    if !missing.is_empty() {
        bail!(
            "the stack needs {} declared `external: true`, which the cluster does not have; create {} first (nothing was deployed)",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" },
        );
    }
    let actions = decide::deploy_actions(&plan, &current, &args.stack, args.prune)?;
    let mut ids: BTreeMap<String, String> = current
        .services
        .iter()
        .map(|s| (s.spec.name.clone(), s.id.clone()))
        .collect();
    for action in actions {
        if let Action::CreateService(spec) | Action::UpdateService { spec, .. } = &action {
            if !args.detach {
                let deps = plan.depends_on.get(&spec.name).cloned().unwrap_or_default();
                for (dep, condition) in deps {
                    let Some(id) = ids.get(&dep) else { continue };
                    wait_for(client, &spec.name, &dep, id, condition, args.timeout).await?;
                }
            }
        }
        println!("{}", action.describe());
        match action {
            Action::RemoveService { id, .. } => {
                client
                    .remove_service(pc::RemoveServiceRequest { id })
                    .await
                    .or_status()?;
            }
            Action::CreateNetwork(spec) => {
                client
                    .create_network(pc::CreateNetworkRequest {
                        spec: Some(spec.into()),
                    })
                    .await
                    .or_status()?;
            }
            Action::CreateData(kind, spec) => {
                client
                    .create_data(pc::CreateDataRequest {
                        kind: kind_out(kind),
                        spec: Some(spec.into()),
                    })
                    .await
                    .or_status()?;
            }
            Action::CreateService(spec) => {
                let name = spec.name.clone();
                let created = client
                    .create_service(pc::CreateServiceRequest {
                        spec: Some(spec.into()),
                    })
                    .await
                    .or_status()?;
                ids.insert(name, created.id);
            }
            Action::UpdateService { id, version, spec } => {
                client
                    .update_service(pc::UpdateServiceRequest {
                        id,
                        version,
                        spec: Some(spec.into()),
                        rollback: false,
                    })
                    .await
                    .or_status()?;
            }
        }
    }
    Ok(())
}

fn condition_text(condition: Condition) -> &'static str {
    match condition {
        Condition::Started => "service_started: a running task",
        Condition::Healthy => "service_healthy: a running, healthy task",
        Condition::CompletedSuccessfully => "service_completed_successfully: a task exited 0",
    }
}

/// Waits until `dep` (service `id`) meets `condition`, for `service`'s `depends_on`.
async fn wait_for(
    client: &mut Control,
    service: &str,
    dep: &str,
    id: &str,
    condition: Condition,
    timeout_ms: u64,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let mut said = false;
    loop {
        let req = pc::ListTasksRequest {
            service_ids: vec![id.to_string()],
            ..Default::default()
        };
        let tasks = crate::fetch::list_tasks(client, req).await?;
        if decide::condition_met(condition, &tasks) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "{service} depends on {dep}, which has no {} after {}; see `swarmctl service ps {dep}` (nothing after {dep} was deployed)",
                condition_text(condition).split(": ").nth(1).unwrap_or_default(),
                humantime::format_duration(Duration::from_millis(timeout_ms)),
            );
        }
        if !said {
            println!("Waiting for {dep} ({})", condition_text(condition));
            said = true;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Removes one stack's labelled objects (services, secrets, configs, then networks, as
/// docker); returns how many could not be removed.
pub async fn remove_stack(client: &mut Control, stack: &str) -> Result<usize> {
    let current = super::current(client).await?;
    let removal = decide::removal(&current, stack);
    if removal.is_empty() {
        println!("Nothing found in stack: {stack}");
        return Ok(0);
    }
    let mut failed = 0;
    let mut report = |what: &str, name: &str, result: Result<()>| {
        if let Err(e) = result {
            eprintln!("Failed to remove {what} {name}: {e:#}");
            failed += 1;
        }
    };
    for (id, name) in &removal.services {
        println!("Removing service {name}");
        let r = client
            .remove_service(pc::RemoveServiceRequest { id: id.clone() })
            .await
            .or_status()
            .map(drop);
        report("service", name, r);
    }
    for (kind, objects) in [
        (DataKind::Secret, &removal.secrets),
        (DataKind::Config, &removal.configs),
    ] {
        for (id, name) in objects {
            println!("Removing {} {name}", kind.as_str());
            let req = pc::RemoveDataRequest {
                kind: kind_out(kind),
                id: id.clone(),
            };
            let r = client.remove_data(req).await.or_status().map(drop);
            report(kind.as_str(), name, r);
        }
    }
    for (id, name) in &removal.networks {
        println!("Removing network {name}");
        let r = remove_network(client, id).await;
        report("network", name, r);
    }
    Ok(failed)
}

/// Removes a network, retrying while the removed services' tasks are still attached to it.
async fn remove_network(client: &mut Control, id: &str) -> Result<()> {
    let deadline = Instant::now() + NETWORK_RM_RETRY;
    loop {
        let r = client
            .remove_network(pc::RemoveNetworkRequest { id: id.to_string() })
            .await;
        match r {
            Err(s)
                if s.code() == tonic::Code::FailedPrecondition
                    && s.message().contains("still attached")
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(POLL).await;
            }
            other => return other.or_status().map(drop),
        }
    }
}
