//! Knowledge bases are confined to `KB_DIR`: a KB folder, a sub-folder or a document is served
//! only if its real path (symlinks resolved) lies inside the real `KB_DIR`. Symlinks that stay
//! inside are followed — a Kubernetes ConfigMap volume is made of them (`doc.md -> ..data/doc.md`)
//! — and any that lead out are refused, with a warning naming them.

use std::path::{Path, PathBuf};

/// The real path of `path` if it lies inside the real `kb_dir`.
pub fn resolve(kb_dir: &Path, path: &Path) -> Option<PathBuf> {
    let root = std::fs::canonicalize(kb_dir).ok()?;
    let real = std::fs::canonicalize(path).ok()?;
    if real.starts_with(&root) {
        Some(real)
    } else {
        tracing::warn!(
            "not serving {}: it resolves outside KB_DIR ({})",
            path.display(),
            root.display()
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::{KnowledgeBases, check};
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_out_of_kb_dir_are_not_served_those_inside_are() {
        let kb_dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "# Secret\n\nOUTSIDE-ONLY").unwrap();
        // A whole KB that is a symlink to a folder outside KB_DIR.
        symlink(outside.path(), kb_dir.path().join("escape")).unwrap();
        assert!(check(kb_dir.path(), "escape").is_err());
        // A KB laid out like a ConfigMap volume, plus one link that leads out.
        let docs = kb_dir.path().join("docs");
        std::fs::create_dir_all(docs.join("..data")).unwrap();
        std::fs::write(docs.join("..data/faq.md"), "# FAQ\n\nThe port is 8003.").unwrap();
        symlink(docs.join("..data/faq.md"), docs.join("faq.md")).unwrap();
        symlink(outside.path().join("secret.md"), docs.join("leak.md")).unwrap();
        assert!(check(kb_dir.path(), "docs").is_ok());
        let kbs = KnowledgeBases::new(kb_dir.path().to_path_buf());
        let snapshot = kbs.load("docs").unwrap();
        let text: String = snapshot.chunks.iter().map(|c| c.content.clone()).collect();
        assert!(
            text.contains("8003"),
            "the ConfigMap-style link is followed"
        );
        assert!(!text.contains("OUTSIDE-ONLY"), "the link out is refused");
        assert!(kbs.load("escape").is_err());
    }
}
