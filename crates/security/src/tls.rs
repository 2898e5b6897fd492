//! rustls configurations for nodes and remote clients.
//!
//! A node's certificate changes while it runs (renewal, promotion, demotion), so the configs do
//! not hold a certificate: they ask [`NodeCredentials`] on every handshake. Connections already
//! open keep going; new ones present the new certificate. Servers ask for a client certificate
//! but do not insist at the TLS layer, because one RPC (`Membership.Join`) is for nodes that do
//! not have one yet; every other service insists through [`crate::authz`].

use std::sync::{Arc, RwLock};

use rustls::client::ResolvesClientCert;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SignatureScheme};
use types::Redacted;

use crate::certificate::{parse_certificate, PeerIdentity};
use crate::token::ca_digest;
use crate::SecurityError;

/// gRPC runs over HTTP/2 only.
const ALPN_H2: &[u8] = b"h2";

/// The one crypto provider everything here uses (the one tonic's `tls-ring` feature builds).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The cluster CA and this node's (or client's) current certificate and key.
pub struct NodeCredentials {
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    current: RwLock<Current>,
}

struct Current {
    key: Arc<CertifiedKey>,
    identity: PeerIdentity,
}

impl std::fmt::Debug for NodeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCredentials")
            .field("identity", &self.identity())
            .finish_non_exhaustive()
    }
}

impl NodeCredentials {
    pub fn new(
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &Redacted,
    ) -> Result<Arc<NodeCredentials>, SecurityError> {
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|_| SecurityError::Certificate("the CA certificate is unreadable".into()))?;
        let current = certified(&ca_der, cert_pem, key_pem)?;
        Ok(Arc::new(NodeCredentials {
            ca_der,
            ca_pem: ca_pem.to_string(),
            current: RwLock::new(current),
        }))
    }

    /// Switches to a new certificate (renewal, role change) for every later handshake.
    pub fn replace(&self, cert_pem: &str, key_pem: &Redacted) -> Result<(), SecurityError> {
        let next = certified(&self.ca_der, cert_pem, key_pem)?;
        *self.current.write().expect("credentials lock") = next;
        Ok(())
    }

    /// Who the current certificate says this node is.
    pub fn identity(&self) -> PeerIdentity {
        self.current
            .read()
            .expect("credentials lock")
            .identity
            .clone()
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The digest join tokens of this cluster carry.
    pub fn ca_digest(&self) -> String {
        ca_digest(&self.ca_der)
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, SecurityError> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        Ok(Arc::new(roots))
    }

    fn key(&self) -> Arc<CertifiedKey> {
        self.current.read().expect("credentials lock").key.clone()
    }

    /// For this node's gRPC server: presents the current certificate, verifies any client
    /// certificate against the cluster CA, lets certificate-less clients reach `Join`.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, SecurityError> {
        let verifier = WebPkiClientVerifier::builder_with_provider(self.roots()?, provider())
            .allow_unauthenticated()
            .build()
            .map_err(|e| SecurityError::Certificate(format!("client verifier: {e}")))?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }

    /// For calls to other nodes: trusts only the cluster CA and presents the current
    /// certificate. The server name to check is chosen per connection.
    pub fn client_config(self: &Arc<Self>) -> Result<Arc<ClientConfig>, SecurityError> {
        let verifier = WebPkiServerVerifier::builder_with_provider(self.roots()?, provider())
            .build()
            .map_err(|e| SecurityError::Certificate(format!("server verifier: {e}")))?;
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }
}

/// The chain sent is leaf + CA, so a joining node that pins the CA by digest sees the CA.
fn certified(
    ca_der: &CertificateDer<'static>,
    cert_pem: &str,
    key_pem: &Redacted,
) -> Result<Current, SecurityError> {
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|_| SecurityError::Certificate("the node certificate is unreadable".into()))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.expose().as_bytes())
        .map_err(|_| SecurityError::Certificate("the node key is unreadable".into()))?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|_| SecurityError::Certificate("the node key is unusable".into()))?;
    let identity = parse_certificate(&cert)?;
    let key = CertifiedKey::new(vec![cert, ca_der.clone()], signing);
    key.keys_match().map_err(|_| {
        SecurityError::Certificate("the node certificate does not match its key".into())
    })?;
    Ok(Current {
        key: Arc::new(key),
        identity,
    })
}

/// Hands rustls the certificate current at handshake time.
#[derive(Debug)]
struct Resolver(Arc<NodeCredentials>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.key())
    }
}

impl ResolvesClientCert for Resolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.key())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
