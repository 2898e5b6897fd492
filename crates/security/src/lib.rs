//! Cluster security: a root CA per cluster, node certificates that carry a node's ID and role,
//! join tokens that pin the CA, and mutual TLS for every node-to-node gRPC call.
//!
//! Pure functions and config builders; the daemon decides when to call them.
//! - [`ca`]: the root CA (created with the cluster) and certificate issuance from CSRs
//! - [`certificate`]: roles, reading a peer's identity from its certificate, key + CSR
//! - [`token`]: `SWMTKN-1-<CA digest>-<secret>` join tokens
//! - [`tls`]: [`NodeCredentials`], hot-swappable, and the rustls server/client configs
//! - [`pinning`]: the join-time verifier that trusts a manager by the token's CA digest
//! - [`transport`]: TLS under tonic (client connector, server acceptor stream)
//! - [`authz`]: per-service authorization from the peer certificate
//! - [`files`]: credentials on disk, keys 0600
//! - [`seal`]: secrets sealed at rest with the cluster's data key (AES-256-GCM)

pub mod authz;
pub mod ca;
pub mod certificate;
pub mod files;
pub mod pinning;
pub mod seal;
pub mod tls;
pub mod token;
pub mod transport;

pub use authz::{peer_identity, Authorizer, MemberCheck};
pub use ca::{verify_issued, RootCa};
pub use certificate::{check_csr, new_key_and_csr, parse_certificate, CertRole, PeerIdentity};
pub use files::{CredentialFiles, StoredCredentials};
pub use pinning::PinnedCaVerifier;
pub use tls::NodeCredentials;
pub use token::{ca_digest, new_join_token, parse_join_token, token_matches, ParsedJoinToken};
pub use transport::{lazy_channel, tls_incoming, Dial, TlsConnector, MANAGER_NAME};

/// Failures of this crate. Messages never include key material or token secrets.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("certificate generation: {0}")]
    Generation(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
