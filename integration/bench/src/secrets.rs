//! (s) What secrets and configs cost: `replicas=30` of `swarmd/sleeper` → 30 RUNNING on the
//! lab, without them and with 2 secrets and 1 config per task, alternated over 3 rounds each in
//! the same run; the medians and their ratio.

use std::time::{Duration, Instant};

use anyhow::Result;
use api::control::{CreateDataRequest, ListTasksRequest, RemoveDataRequest, RemoveServiceRequest};
use api::objects::{DataKind, DataReference, DataSpec};

use crate::control::{self, service_spec, Control};
use crate::lab::Lab;
use crate::report::{percentile, Report};

const SECTION: &str = "s. secrets and configs (30 × swarmd/sleeper, lab)";
const REPLICAS: usize = 30;
const ROUNDS: usize = 3;
const POLL: Duration = Duration::from_millis(50);
const LIMIT: Duration = Duration::from_secs(120);
const DATA: [(DataKind, &str); 3] = [
    (DataKind::Secret, "swb-s1"),
    (DataKind::Secret, "swb-s2"),
    (DataKind::Config, "swb-c1"),
];

pub async fn run(report: &mut Report, lab: &Lab, quick: bool) -> Result<()> {
    let mut ctl = control::connect_socket(lab.socket("manager")).await?;
    let result = measure(report, &mut ctl, if quick { 1 } else { ROUNDS }).await;
    remove_data(&mut ctl).await;
    result
}

/// Removes the bench's secrets and config; absent ones are fine.
async fn remove_data(ctl: &mut Control) {
    for (kind, name) in DATA {
        let _ = ctl
            .remove_data(RemoveDataRequest {
                kind: kind as i32,
                id: name.into(),
            })
            .await;
    }
}

async fn measure(report: &mut Report, ctl: &mut Control, rounds: usize) -> Result<()> {
    remove_data(ctl).await;
    for (kind, name) in DATA {
        ctl.create_data(CreateDataRequest {
            kind: kind as i32,
            spec: Some(DataSpec {
                name: name.into(),
                data: format!("{name}: a value of some length for the bench").into_bytes(),
                ..Default::default()
            }),
        })
        .await?;
    }
    let (mut plain, mut with) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        plain.push(converge(ctl, false).await?);
        with.push(converge(ctl, true).await?);
    }
    plain.sort_by(f64::total_cmp);
    with.sort_by(f64::total_cmp);
    let (p, w) = (percentile(&plain, 0.5), percentile(&with, 0.5));
    report.add(SECTION, "without secrets or configs, median", p, "ms", "");
    report.note(&format!("{rounds} rounds: {plain:.0?} ms"));
    report.add(SECTION, "with 2 secrets + 1 config, median", w, "ms", "");
    report.note(&format!("{rounds} rounds: {with:.0?} ms"));
    report.add(SECTION, "ratio with / without", w / p, "×", "≤ 1.2");
    Ok(())
}

/// Creates the service, waits for 30 RUNNING, removes it and waits until none is left: the
/// milliseconds from create to all RUNNING.
async fn converge(ctl: &mut Control, with_data: bool) -> Result<f64> {
    let name = if with_data { "swb-sec" } else { "swb-plain" };
    let mut spec = service_spec(name, "swarmd/sleeper", REPLICAS as u64, None, &[]);
    if with_data {
        let c = spec
            .task
            .as_mut()
            .and_then(|t| t.container.as_mut())
            .expect("service_spec sets a container");
        for (kind, data) in DATA {
            let r = DataReference {
                id: data.into(),
                target: match kind {
                    DataKind::Secret => data.into(),
                    DataKind::Config => format!("/etc/{data}"),
                },
                ..Default::default()
            };
            match kind {
                DataKind::Secret => c.secrets.push(r),
                DataKind::Config => c.configs.push(r),
            }
        }
    }
    let start = Instant::now();
    control::create(ctl, spec).await?;
    let took = control::wait_running(ctl, name, REPLICAS, start, POLL, LIMIT).await;
    let _ = ctl
        .remove_service(RemoveServiceRequest { id: name.into() })
        .await;
    // Every task gone (its container stopped), so the next round starts on idle engines.
    let gone = Instant::now();
    while gone.elapsed() < Duration::from_secs(60) {
        let left = ctl
            .list_tasks(ListTasksRequest {
                service_ids: vec![name.into()],
                node_ids: vec![],
                desired_running_only: false,
            })
            .await
            .map_or(0, |r| r.into_inner().tasks.len());
        if left == 0 {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(took?.as_secs_f64() * 1e3)
}
