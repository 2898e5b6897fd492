//! What a certificate says about its holder, and how a node asks for one.
//!
//! A node certificate's subject is `CN=<node ID>, OU=<role>, O=<cluster ID>` (Swarm's layout);
//! its DNS names are the node ID and the role, so a client can require "a manager" or "this
//! node" as the server name. Client certificates for `swarmctl -H` carry OU `swarm-client`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use types::Redacted;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::SecurityError;

/// What the holder of a certificate may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertRole {
    Manager,
    Worker,
    /// A remote `swarmctl`: the control API only.
    Client,
}

impl CertRole {
    /// The organizational unit (and DNS name) that encodes the role, as Swarm spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CertRole::Manager => "swarm-manager",
            CertRole::Worker => "swarm-worker",
            CertRole::Client => "swarm-client",
        }
    }

    pub fn parse(ou: &str) -> Option<CertRole> {
        [CertRole::Manager, CertRole::Worker, CertRole::Client]
            .into_iter()
            .find(|r| r.as_str() == ou)
    }
}

impl From<types::NodeRole> for CertRole {
    fn from(r: types::NodeRole) -> Self {
        match r {
            types::NodeRole::Manager => CertRole::Manager,
            types::NodeRole::Worker => CertRole::Worker,
        }
    }
}

impl std::fmt::Display for CertRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is on the other end of a verified TLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The node ID (or a client's generated name): the certificate's CN.
    pub node_id: String,
    pub role: CertRole,
    /// When the certificate became valid (its lifetime is what renewal is planned on).
    pub not_before: SystemTime,
    /// When the certificate stops being valid.
    pub not_after: SystemTime,
}

/// Reads the holder's identity from a DER certificate. Only meaningful for a certificate the
/// TLS layer already verified against the cluster CA: this checks no signature.
pub fn parse_certificate(der: &[u8]) -> Result<PeerIdentity, SecurityError> {
    let bad = |why: &str| SecurityError::Certificate(why.to_string());
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| bad("not an X.509 certificate"))?;
    let subject = cert.subject();
    let node_id = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or_else(|| bad("no common name (node ID)"))?
        .to_string();
    let role = subject
        .iter_organizational_unit()
        .next()
        .and_then(|ou| ou.as_str().ok())
        .and_then(CertRole::parse)
        .ok_or_else(|| bad("no swarm role in the organizational unit"))?;
    let time = |t: x509_parser::time::ASN1Time| {
        UNIX_EPOCH + Duration::from_secs(t.timestamp().max(0) as u64)
    };
    Ok(PeerIdentity {
        node_id,
        role,
        not_before: time(cert.validity().not_before),
        not_after: time(cert.validity().not_after),
    })
}

/// Whether `csr_pem` is a well-formed CSR whose signature matches its key (checked before a
/// join writes anything, so a bad CSR leaves no node behind).
pub fn check_csr(csr_pem: &str) -> Result<(), SecurityError> {
    rcgen::CertificateSigningRequestParams::from_pem(csr_pem)
        .map(|_| ())
        .map_err(|_| {
            SecurityError::Certificate("the certificate signing request is invalid".into())
        })
}

/// A fresh private key and a CSR for it. The key never leaves the node: only the CSR travels,
/// and the signer decides the subject, so the CSR's own subject is a placeholder.
pub fn new_key_and_csr() -> Result<(Redacted, String), SecurityError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "swarm-node");
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key)?.pem()?;
    Ok((Redacted::new(key.serialize_pem()), csr))
}
