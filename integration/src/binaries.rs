//! Where the `swarmd` and `swarmctl` under test live: in the same target directory as the test
//! executable (`target/<profile>/deps/<test>` → `target/<profile>/swarmd`). They belong to
//! other packages, so cargo does not build them for `cargo test -p integration`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The two binaries the tests drive.
#[derive(Debug)]
pub struct Binaries {
    pub swarmd: PathBuf,
    pub swarmctl: PathBuf,
}

/// Finds both binaries once per test process; panics with the command that builds them.
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable's path");
        let dir = profile_dir(&exe);
        Binaries {
            swarmd: existing(&dir, "swarmd"),
            swarmctl: existing(&dir, "swarmctl"),
        }
    })
}

/// `target/<profile>` for an executable in `target/<profile>/deps` (cargo test, nextest) or
/// directly in `target/<profile>`.
fn profile_dir(exe: &Path) -> PathBuf {
    let parent = exe.parent().expect("the test executable has a directory");
    if parent.file_name().is_some_and(|n| n == "deps") {
        parent.parent().expect("deps has a parent").to_path_buf()
    } else {
        parent.to_path_buf()
    }
}

fn existing(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not found: run `cargo build -p swarmd -p swarmctl` (same profile as the tests) first",
        path.display()
    );
    path
}
