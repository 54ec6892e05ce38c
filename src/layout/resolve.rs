//! Where a path really is: absolute, `..` and symlinks resolved, even for a file that does not exist
//! yet (its longest existing ancestor is resolved and the rest appended).

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Symlink chains longer than this are left as they are (the OS refuses them anyway: ELOOP).
const MAX_LINKS: usize = 40;

/// The real location `path` names. Never fails: what cannot be resolved is kept lexically.
pub fn real_path(path: &Path) -> PathBuf {
    real_path_depth(path, 0)
}

fn real_path_depth(path: &Path, depth: usize) -> PathBuf {
    let abs = lexical(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    if let Ok(p) = abs.canonicalize() {
        return p;
    }
    // A dangling symlink: writing through it creates its target, so its target is the place.
    if depth < MAX_LINKS {
        if let Ok(target) = std::fs::read_link(&abs) {
            let base = abs.parent().unwrap_or(Path::new("/"));
            return real_path_depth(&base.join(target), depth + 1);
        }
    }
    // Not there yet: resolve the longest existing ancestor, append the rest.
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    while let Some(parent) = cur.parent() {
        rest.push(
            cur.file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_default(),
        );
        if let Ok(p) = parent.canonicalize() {
            let mut out = p;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        cur = parent;
    }
    abs
}

/// `a/./b/../c` → `a/c` without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `(device, inode)` of an existing file, to see hard links of one file under two names.
pub fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_dots_symlinks_and_missing_tails() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("data")).unwrap();
        std::fs::write(root.join("data/system.db"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("data"), root.join("link")).unwrap();
        let want = root.join("data/system.db");
        assert_eq!(real_path(&root.join("link/system.db")), want);
        assert_eq!(real_path(&root.join("data/../data/./system.db")), want);
        assert_eq!(
            real_path(&root.join("link/new/../x.db")),
            root.join("data/x.db")
        );
        assert_eq!(
            real_path(&root.join("link/missing/y.db")),
            root.join("data/missing/y.db")
        );
        // A dangling symlink names the file it would create.
        std::os::unix::fs::symlink(root.join("data/later.db"), root.join("dangling")).unwrap();
        assert_eq!(
            real_path(&root.join("dangling")),
            root.join("data/later.db")
        );
    }

    #[test]
    fn hard_links_share_an_identity() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        std::fs::write(&a, b"x").unwrap();
        std::fs::hard_link(&a, d.path().join("b")).unwrap();
        assert_eq!(identity(&a), identity(&d.path().join("b")));
        assert!(identity(&d.path().join("c")).is_none());
    }
}
