//! The cluster's root CA: created once by the first manager, then used by every manager to sign
//! node certificates from CSRs (the subject is the signer's decision, never the requester's).

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use time::OffsetDateTime;
use types::{Redacted, RootCaMaterial};

use crate::certificate::{parse_certificate, CertRole, PeerIdentity};
use crate::token::ca_digest;
use crate::SecurityError;

/// Swarm's CA lifetime: 20 years; rotating the root is out of scope.
const CA_VALIDITY: Duration = Duration::from_secs(20 * 365 * 24 * 3600);
/// Certificates start a little in the past so a peer whose clock is behind accepts them: a
/// tenth of the validity, at most 5 minutes (a 20 s test certificate is not backdated by 5 min,
/// which would skew the renewal schedule computed from not_before..not_after).
const MAX_BACKDATE: Duration = Duration::from_secs(5 * 60);

fn backdate(validity: Duration) -> Duration {
    (validity / 10).min(MAX_BACKDATE)
}

/// A root CA with its key: what a manager signs with.
pub struct RootCa {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key: KeyPair,
}

impl std::fmt::Debug for RootCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCa")
            .field("digest", &self.digest())
            .finish_non_exhaustive()
    }
}

impl RootCa {
    /// A new self-signed root for the cluster `cluster_id`.
    pub fn create(cluster_id: &str) -> Result<RootCa, SecurityError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "swarm-ca");
        dn.push(DnType::OrganizationName, cluster_id);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = SystemTime::now();
        params.not_before = OffsetDateTime::from(now - MAX_BACKDATE);
        params.not_after = OffsetDateTime::from(now + CA_VALIDITY);
        let cert = params.self_signed(&key)?;
        Ok(RootCa {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key,
        })
    }

    /// The CA as the cluster object stores it.
    pub fn from_material(material: &RootCaMaterial) -> Result<RootCa, SecurityError> {
        if material.key_pem.is_empty() {
            return Err(SecurityError::Certificate(
                "this cluster has no CA key (created before mutual TLS?)".into(),
            ));
        }
        let key = KeyPair::from_pem(material.key_pem.expose())
            .map_err(|_| SecurityError::Certificate("the CA key is unreadable".into()))?;
        let cert_der = CertificateDer::from_pem_slice(material.cert_pem.as_bytes())
            .map_err(|_| SecurityError::Certificate("the CA certificate is unreadable".into()))?;
        Ok(RootCa {
            cert_pem: material.cert_pem.clone(),
            cert_der,
            key,
        })
    }

    pub fn material(&self) -> RootCaMaterial {
        RootCaMaterial {
            cert_pem: self.cert_pem.clone(),
            key_pem: Redacted::new(self.key.serialize_pem()),
        }
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The digest join tokens carry.
    pub fn digest(&self) -> String {
        ca_digest(&self.cert_der)
    }

    /// [`RootCa::digest`] from the certificate alone (what a rotation needs).
    pub fn digest_of_pem(cert_pem: &str) -> Result<String, SecurityError> {
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|_| SecurityError::Certificate("the CA certificate is unreadable".into()))?;
        Ok(ca_digest(&der))
    }

    /// Signs the public key of `csr_pem` into a certificate for `node_id` with `role`, valid
    /// for `validity`. The CSR's signature is checked (proof the requester holds the key); its
    /// subject and extensions are ignored. Returns the certificate's PEM.
    pub fn issue(
        &self,
        csr_pem: &str,
        node_id: &str,
        role: CertRole,
        validity: Duration,
    ) -> Result<String, SecurityError> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|_| {
            SecurityError::Certificate("the certificate signing request is invalid".into())
        })?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, node_id);
        dn.push(DnType::OrganizationalUnitName, role.as_str());
        params.distinguished_name = dn;
        params.subject_alt_names = vec![
            SanType::DnsName(dns_name(node_id)?),
            SanType::DnsName(dns_name(role.as_str())?),
        ];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let now = SystemTime::now();
        params.not_before = OffsetDateTime::from(now - backdate(validity));
        params.not_after = OffsetDateTime::from(now + validity);
        params.serial_number = Some(rand::random::<[u8; 16]>().to_vec().into());
        let issuer = Issuer::from_ca_cert_der(&self.cert_der, &self.key)?;
        let cert = params.signed_by(&csr.public_key, &issuer)?;
        Ok(cert.pem())
    }
}

fn dns_name(s: &str) -> Result<rcgen::string::Ia5String, SecurityError> {
    s.to_string()
        .try_into()
        .map_err(|_| SecurityError::Certificate(format!("`{s}` cannot be a certificate name")))
}

/// Checks that `cert_pem` was signed by the CA `ca_pem` and is valid now; returns its holder.
/// Used by a joining node on the certificate a manager just issued it.
pub fn verify_issued(cert_pem: &str, ca_pem: &str) -> Result<PeerIdentity, SecurityError> {
    let bad = |why: &str| SecurityError::Certificate(why.to_string());
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|_| bad("the issued certificate is unreadable"))?;
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes())
        .map_err(|_| bad("the CA certificate is unreadable"))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert)
        .map_err(|_| bad("the issued certificate is unreadable"))?;
    let (_, parsed_ca) = x509_parser::parse_x509_certificate(&ca)
        .map_err(|_| bad("the CA certificate is unreadable"))?;
    parsed
        .verify_signature(Some(parsed_ca.public_key()))
        .map_err(|_| bad("the issued certificate is not signed by the cluster CA"))?;
    if !parsed.validity().is_valid() {
        return Err(bad("the issued certificate is not valid now (clock skew?)"));
    }
    parse_certificate(&cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::new_key_and_csr;

    #[test]
    fn issues_certificates_that_carry_node_id_and_role() {
        let ca = RootCa::create("cluster-1").unwrap();
        let (_key, csr) = new_key_and_csr().unwrap();
        let pem = ca
            .issue(&csr, "node1", CertRole::Worker, Duration::from_secs(60))
            .unwrap();
        let who = verify_issued(&pem, ca.cert_pem()).unwrap();
        assert_eq!(who.node_id, "node1");
        assert_eq!(who.role, CertRole::Worker);
        let left = who.not_after.duration_since(SystemTime::now()).unwrap();
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50));
    }

    #[test]
    fn a_certificate_from_another_ca_is_rejected() {
        let ca = RootCa::create("cluster-1").unwrap();
        let other = RootCa::create("cluster-2").unwrap();
        let (_key, csr) = new_key_and_csr().unwrap();
        let pem = other
            .issue(&csr, "node1", CertRole::Manager, Duration::from_secs(60))
            .unwrap();
        let err = verify_issued(&pem, ca.cert_pem()).unwrap_err().to_string();
        assert!(err.contains("not signed by the cluster CA"), "{err}");
        assert_ne!(ca.digest(), other.digest());
    }

    #[test]
    fn the_ca_round_trips_through_the_cluster_object_without_showing_its_key() {
        let ca = RootCa::create("cluster-1").unwrap();
        let material = ca.material();
        assert!(!format!("{material:?}").contains("PRIVATE KEY"));
        assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
        let again = RootCa::from_material(&material).unwrap();
        assert_eq!(again.digest(), ca.digest());
        let (_key, csr) = new_key_and_csr().unwrap();
        let pem = again
            .issue(&csr, "n2", CertRole::Manager, Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            verify_issued(&pem, ca.cert_pem()).unwrap().role,
            CertRole::Manager
        );
    }

    #[test]
    fn a_tampered_csr_is_refused() {
        let ca = RootCa::create("cluster-1").unwrap();
        let err = ca
            .issue(
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                "n",
                CertRole::Worker,
                Duration::from_secs(60),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("signing request is invalid"),
            "{err}"
        );
    }
}
