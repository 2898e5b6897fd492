//! The node's certificate over its life: loaded at start, renewed by a manager before it
//! expires, and reissued when the node's role changes. Files live in `STATE_DIR/certificates`
//! (key 0600); the running servers and clients pick up a new certificate on their next
//! handshake, so nothing restarts.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Result};
use api::dispatcher::membership_client::MembershipClient;
use security::{CertRole, CredentialFiles, Dial, NodeCredentials, MANAGER_NAME};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub const CERT_DIR: &str = "certificates";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RENEW_TIMEOUT: Duration = Duration::from_secs(5);
/// After a failed renewal, try again this soon (capped by what is left of the lifetime).
const RETRY_AFTER: Duration = Duration::from_secs(5);

pub fn files(state_dir: &Path) -> CredentialFiles {
    CredentialFiles::new(state_dir.join(CERT_DIR), "node")
}

/// This node's credentials from its state directory.
pub fn load(state_dir: &Path) -> Result<Arc<NodeCredentials>> {
    let files = files(state_dir);
    let stored = files.load()?.ok_or_else(|| {
        anyhow!(
            "{} holds no node certificate (a state directory from before mutual TLS?); start with an empty --state-dir and join again",
            files.dir().display()
        )
    })?;
    Ok(NodeCredentials::new(
        &stored.ca_pem,
        &stored.cert_pem,
        &stored.key_pem,
    )?)
}

/// When to renew: after half of the lifetime plus a random share of another fifth, so a
/// cluster's nodes, all joined at once, do not all renew at once (Swarm does the same).
fn renew_at(now: SystemTime, not_before: SystemTime, not_after: SystemTime) -> SystemTime {
    let lifetime = not_after.duration_since(not_before).unwrap_or_default();
    let jitter = lifetime.mul_f64(0.2 * rand::random::<f64>());
    let at = not_before + lifetime / 2 + jitter;
    at.max(now)
}

/// Asks a manager for a new certificate (the role is the store's decision) and switches to it.
pub async fn renew(
    creds: &Arc<NodeCredentials>,
    state_dir: &Path,
    managers: &[String],
) -> Result<CertRole> {
    let (key, csr) = security::new_key_and_csr()?;
    let config = creds.client_config()?;
    let mut last = anyhow!("no manager known to renew the certificate with");
    for addr in managers {
        let channel = security::lazy_channel(config.clone(), addr, MANAGER_NAME, CONNECT_TIMEOUT)?;
        let mut client = MembershipClient::new(channel);
        let call =
            client.renew_certificate(api::dispatcher::RenewCertificateRequest { csr: csr.clone() });
        let reply = match tokio::time::timeout(RENEW_TIMEOUT, call).await {
            Ok(Ok(r)) => r.into_inner(),
            Ok(Err(status)) => {
                last = anyhow!("manager {addr}: {}", status.message());
                continue;
            }
            Err(_) => {
                last = anyhow!("manager {addr} did not answer in time");
                continue;
            }
        };
        let issued = security::verify_issued(&reply.certificate, creds.ca_pem())?;
        if issued.node_id != creds.identity().node_id {
            bail!("manager {addr} issued a certificate for another node");
        }
        files(state_dir).save(creds.ca_pem(), &reply.certificate, &key)?;
        creds.replace(&reply.certificate, &key)?;
        return Ok(issued.role);
    }
    Err(last)
}

/// Renews until the certificate carries `role` (a promotion or demotion the managers may not
/// have recorded yet), for at most `patience`.
pub async fn renew_for_role(
    creds: &Arc<NodeCredentials>,
    state_dir: &Path,
    managers: &[String],
    role: CertRole,
    patience: Duration,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match renew(creds, state_dir, managers).await {
            Ok(got) if got == role => return Ok(()),
            Ok(got) => tracing::debug!(%got, want = %role, "certificate role not updated yet"),
            Err(e) => tracing::debug!(error = %e, "certificate renewal failed"),
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("no {role} certificate within {patience:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Renews the certificate before it expires, for as long as the node runs.
pub async fn renewal_loop(
    creds: Arc<NodeCredentials>,
    state_dir: std::path::PathBuf,
    managers: watch::Receiver<Vec<String>>,
    stop: CancellationToken,
) {
    let mut retry: Option<Duration> = None;
    loop {
        let current = creds.identity();
        let not_after = current.not_after;
        let now = SystemTime::now();
        let wait = retry.take().unwrap_or_else(|| {
            renew_at(now, current.not_before, not_after)
                .duration_since(now)
                .unwrap_or_default()
        });
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let list = managers.borrow().clone();
        match renew(&creds, &state_dir, &list).await {
            Ok(role) => {
                let left = creds
                    .identity()
                    .not_after
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                tracing::info!(%role, valid_for = ?left, "node certificate renewed");
            }
            Err(e) => {
                let left = not_after
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                tracing::warn!(error = %format!("{e:#}"), expires_in = ?left, "certificate renewal failed; retrying");
                retry = Some(RETRY_AFTER.min(left / 4).max(Duration::from_millis(200)));
            }
        }
    }
}

/// How a manager dials its peers' Raft service: mutual TLS, the peer must be a manager.
pub fn raft_dial(creds: &Arc<NodeCredentials>) -> Result<Dial> {
    Ok(Dial::mutual_tls(
        creds.client_config()?,
        MANAGER_NAME,
        store::raft::network::CONNECT_TIMEOUT,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_happens_in_the_second_half_of_the_lifetime() {
        let now = SystemTime::now();
        let life = Duration::from_secs(100);
        for _ in 0..50 {
            let at = renew_at(now, now, now + life);
            let after = at.duration_since(now).unwrap();
            assert!(after >= Duration::from_secs(50) && after <= Duration::from_secs(70));
        }
        // Already past the point: at once.
        let long_ago = now - Duration::from_secs(99);
        assert_eq!(renew_at(now, long_ago, long_ago + life), now);
    }
}
