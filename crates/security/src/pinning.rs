//! Join-time trust: a node that has only a join token trusts a manager if the chain it presents
//! contains a CA whose digest is the token's, and the manager's certificate chains to that CA.
//! The check runs inside the TLS handshake, so the token's secret is sent only after it passed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::tls::provider;
use crate::token::ca_digest;
use crate::SecurityError;

/// Accepts a server only if its chain holds the CA named by the join token.
#[derive(Debug)]
pub struct PinnedCaVerifier {
    digest: String,
    /// Set when a server presented a chain without the pinned CA, so the caller can say
    /// "wrong CA" instead of a generic handshake failure.
    mismatched: AtomicBool,
}

impl PinnedCaVerifier {
    pub fn new(digest: &str) -> Arc<PinnedCaVerifier> {
        Arc::new(PinnedCaVerifier {
            digest: digest.to_string(),
            mismatched: AtomicBool::new(false),
        })
    }

    /// Whether some handshake was refused because the CA did not match the token.
    pub fn saw_mismatch(&self) -> bool {
        self.mismatched.load(Ordering::SeqCst)
    }

    /// A client config for `Join`: pinned trust, and no certificate of our own yet.
    pub fn client_config(self: &Arc<Self>) -> Result<Arc<ClientConfig>, SecurityError> {
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ServerCertVerifier for PinnedCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(ca) = intermediates.iter().find(|c| ca_digest(c) == self.digest) else {
            self.mismatched.store(true, Ordering::SeqCst);
            return Err(rustls::Error::General(
                "the manager's CA does not match the join token".into(),
            ));
        };
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        inner.verify_server_cert(end_entity, &[], server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
