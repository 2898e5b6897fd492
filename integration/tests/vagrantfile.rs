//! The three-VM lab's Vagrantfile is valid: `vagrant validate` (Debian's vagrant, with the
//! libvirt provider installed by `integration/provision/packages.sh --vagrant`). It needs no
//! box and no VM; booting the VMs is not possible on the machines we test on.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn vagrant_validates_the_three_vm_lab() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dotfiles = tempfile::tempdir().expect("tempdir");
    let out = match Command::new("vagrant")
        .arg("validate")
        .current_dir(&repo)
        // Vagrant's machine state goes to a scratch dir, not into the repository.
        .env("VAGRANT_DOTFILE_PATH", dotfiles.path())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var("CI").is_err(),
                "vagrant is not installed ({e}); CI installs it with packages.sh --vagrant"
            );
            eprintln!("skipping: vagrant is not installed ({e})");
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "vagrant validate failed:\n{text}");
    assert!(text.contains("validated successfully"), "{text}");
}
