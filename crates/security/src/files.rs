//! Credentials on disk: `ca.crt`, `<name>.crt` and `<name>.key` in one directory. The
//! directory is 0700 and the key 0600 from the moment it exists (created with that mode, then
//! renamed into place, so a crash leaves no readable half-written key).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use types::Redacted;

use crate::SecurityError;

/// The files of one holder (a node: `node`; a remote swarmctl: `client`).
#[derive(Debug, Clone)]
pub struct CredentialFiles {
    dir: PathBuf,
    name: &'static str,
}

/// What [`CredentialFiles::load`] reads back.
pub struct StoredCredentials {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: Redacted,
}

impl CredentialFiles {
    pub fn new(dir: impl Into<PathBuf>, name: &'static str) -> CredentialFiles {
        CredentialFiles {
            dir: dir.into(),
            name,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(format!("{}.crt", self.name))
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join(format!("{}.key", self.name))
    }

    pub fn save(
        &self,
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &Redacted,
    ) -> Result<(), SecurityError> {
        fs::create_dir_all(&self.dir)?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))?;
        // The key first: a certificate on disk always has its key beside it.
        write_atomically(&self.key_path(), key_pem.expose().as_bytes(), 0o600)?;
        write_atomically(&self.cert_path(), cert_pem.as_bytes(), 0o644)?;
        write_atomically(&self.ca_path(), ca_pem.as_bytes(), 0o644)?;
        Ok(())
    }

    /// `None` when the directory holds no certificate at all.
    pub fn load(&self) -> Result<Option<StoredCredentials>, SecurityError> {
        if !self.cert_path().exists() {
            return Ok(None);
        }
        let read = |p: PathBuf| {
            fs::read_to_string(&p).map_err(|e| {
                SecurityError::Certificate(format!("cannot read {}: {e}", p.display()))
            })
        };
        Ok(Some(StoredCredentials {
            ca_pem: read(self.ca_path())?,
            cert_pem: read(self.cert_path())?,
            key_pem: Redacted::new(read(self.key_path())?),
        }))
    }
}

fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SecurityError> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_private_and_everything_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let files = CredentialFiles::new(dir.path().join("certificates"), "node");
        assert!(files.load().unwrap().is_none());
        files.save("CA", "CERT", &Redacted::new("KEY")).unwrap();
        let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(files.key_path()), 0o600);
        assert_eq!(mode(files.dir().to_path_buf()), 0o700);
        let back = files.load().unwrap().unwrap();
        assert_eq!(
            (
                back.ca_pem.as_str(),
                back.cert_pem.as_str(),
                back.key_pem.expose()
            ),
            ("CA", "CERT", "KEY")
        );
    }
}
