//! A directory's files and their contents, read recursively, so a test can prove that a
//! refused command left nothing half-written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Relative path → contents (`None` for a directory or a socket). Empty when `root` does not
/// exist.
pub type Tree = BTreeMap<PathBuf, Option<Vec<u8>>>;

/// Reads every entry under `root`.
pub fn read_tree(root: &Path) -> Tree {
    let mut tree = Tree::new();
    walk(root, root, &mut tree);
    tree
}

fn walk(root: &Path, dir: &Path, tree: &mut Tree) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            tree.insert(relative, None);
            walk(root, &path, tree);
        } else if kind.is_file() {
            tree.insert(relative, std::fs::read(&path).ok());
        } else {
            tree.insert(relative, None);
        }
    }
}
