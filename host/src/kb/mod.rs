//! Knowledge bases on disk: `KB_DIR/<kb_id>/` holds `.md` and `.txt` documents (nested folders
//! allowed). The host reads and chunks them (`chunk`) and hands the chunks to the RAG plugin
//! through its read-only `knowledge` import. A watcher drops a knowledge base from the cache
//! when anything under it changes, so the next search sees the edit — no session restarts.

pub mod chunk;
mod confine;

pub use chunk::Chunk;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A knowledge-base id is a directory name: letters, digits, `-`, `_`, `.`; not hidden.
pub fn valid_id(kb_id: &str) -> bool {
    !kb_id.is_empty()
        && kb_id.len() <= 128
        && !kb_id.starts_with('.')
        && kb_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether `kb_id` names a knowledge base; the error is the message a client sees.
pub fn check(kb_dir: &Path, kb_id: &str) -> Result<(), String> {
    if !valid_id(kb_id) {
        return Err(format!(
            "'{kb_id}' is not a valid knowledge base id (letters, digits, '-', '_', '.')"
        ));
    }
    if confine::resolve(kb_dir, &kb_dir.join(kb_id)).is_some_and(|real| real.is_dir()) {
        Ok(())
    } else {
        Err(format!("Unknown knowledge base '{kb_id}'"))
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KbError {
    #[error("unknown knowledge base '{0}'")]
    Unknown(String),
    #[error("knowledge base unavailable: {0}")]
    Unavailable(String),
}

/// One loaded knowledge base.
#[derive(Debug)]
pub struct Snapshot {
    /// Changes whenever any document's chunks change.
    pub version: u64,
    pub documents: usize,
    pub chunks: Vec<Chunk>,
}

/// The knowledge bases under one directory, loaded on demand and cached until they change.
pub struct KnowledgeBases {
    dir: PathBuf,
    cache: Arc<Mutex<HashMap<String, Arc<Snapshot>>>>,
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Documents larger than this are skipped (with a warning): a KB is text, not a dump.
const MAX_DOCUMENT_BYTES: u64 = 8 << 20;

impl KnowledgeBases {
    /// Watch `dir` for changes (when it exists); nothing is read until asked.
    pub fn new(dir: PathBuf) -> KnowledgeBases {
        let cache: Arc<Mutex<HashMap<String, Arc<Snapshot>>>> = Arc::default();
        let watcher = Self::watch(&dir, cache.clone());
        KnowledgeBases {
            dir,
            cache,
            _watcher: watcher,
        }
    }

    fn watch(
        dir: &Path,
        cache: Arc<Mutex<HashMap<String, Arc<Snapshot>>>>,
    ) -> Option<notify::RecommendedWatcher> {
        use notify::Watcher;
        let root = std::fs::canonicalize(dir).ok()?;
        let base = root.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                for path in &event.paths {
                    let kb = path
                        .strip_prefix(&base)
                        .ok()
                        .and_then(|p| p.components().next());
                    match kb {
                        Some(kb) => {
                            cache.remove(&*kb.as_os_str().to_string_lossy());
                        }
                        None => cache.clear(),
                    }
                }
            })
            .map_err(|e| {
                tracing::warn!(
                    "cannot watch KB_DIR {}: {e}; edits need a restart",
                    dir.display()
                )
            })
            .ok()?;
        watcher
            .watch(&root, notify::RecursiveMode::Recursive)
            .map_err(|e| {
                tracing::warn!(
                    "cannot watch KB_DIR {}: {e}; edits need a restart",
                    dir.display()
                )
            })
            .ok()?;
        Some(watcher)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current contents of `kb_id`, from the cache or freshly read.
    pub fn load(&self, kb_id: &str) -> Result<Arc<Snapshot>, KbError> {
        check(&self.dir, kb_id).map_err(|_| KbError::Unknown(kb_id.to_string()))?;
        if let Some(snapshot) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(kb_id)
        {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(read_kb(&self.dir, &self.dir.join(kb_id))?);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kb_id.to_string(), snapshot.clone());
        Ok(snapshot)
    }

    /// Forget cached contents (all, or one KB), e.g. where file events are not delivered.
    pub fn invalidate(&self, kb_id: Option<&str>) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match kb_id {
            Some(kb) => {
                cache.remove(kb);
            }
            None => cache.clear(),
        }
    }

    /// Every knowledge base: id, documents, chunks (or the error reading it).
    pub fn list(&self) -> Vec<(String, Result<Arc<Snapshot>, KbError>)> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|id| valid_id(id))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids.into_iter()
            .map(|id| {
                let loaded = self.load(&id);
                (id, loaded)
            })
            .collect()
    }
}

fn read_kb(kb_dir: &Path, root: &Path) -> Result<Snapshot, KbError> {
    let mut files = Vec::new();
    collect(kb_dir, root, root, 0, &mut files)
        .map_err(|e| KbError::Unavailable(format!("{}: {e}", root.display())))?;
    files.sort();
    let mut chunks = Vec::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for relative in &files {
        let path = root.join(relative);
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                tracing::warn!("skipping unreadable document {}: {e}", path.display());
                continue;
            }
        };
        for chunk in chunk::chunk_document(relative, &text) {
            chunk.id.hash(&mut hasher);
            chunk.title.hash(&mut hasher);
            chunk.content.hash(&mut hasher);
            chunks.push(chunk);
        }
    }
    Ok(Snapshot {
        version: hasher.finish(),
        documents: files.len(),
        chunks,
    })
}

/// Folders deeper than this are not read (a link cycle inside KB_DIR ends here).
const MAX_DEPTH: usize = 16;

/// Relative ('/'-separated) paths of the `.md`/`.txt` documents under `dir`; links are
/// followed only where they stay inside `kb_dir`.
fn collect(
    kb_dir: &Path,
    root: &Path,
    dir: &Path,
    depth: usize,
    files: &mut Vec<String>,
) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        tracing::warn!("not reading {}: folders nested too deep", dir.display());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = if entry.file_type()?.is_symlink() {
            if confine::resolve(kb_dir, &path).is_none() {
                continue;
            }
            std::fs::metadata(&path)?
        } else {
            entry.metadata()?
        };
        if meta.is_dir() {
            collect(kb_dir, root, &path, depth + 1, files)?;
        } else if (name.ends_with(".md") || name.ends_with(".txt")) && meta.is_file() {
            if meta.len() > MAX_DOCUMENT_BYTES {
                tracing::warn!(
                    "skipping {}: larger than {MAX_DOCUMENT_BYTES} bytes",
                    path.display()
                );
                continue;
            }
            if let Ok(relative) = path.strip_prefix(root) {
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                files.push(parts.join("/"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_nested_documents_with_stable_ids_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        let kb = dir.path().join("docs");
        std::fs::create_dir_all(kb.join("sub")).unwrap();
        std::fs::write(kb.join("a.md"), "# A\n\nalpha").unwrap();
        std::fs::write(kb.join("sub/b.txt"), "bravo").unwrap();
        std::fs::write(kb.join("ignored.pdf"), "x").unwrap();
        let kbs = KnowledgeBases::new(dir.path().to_path_buf());
        let first = kbs.load("docs").unwrap();
        let ids: Vec<&str> = first.chunks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a.md#0", "sub/b.txt#0"]);
        assert_eq!(first.documents, 2);
        std::fs::write(kb.join("a.md"), "# A\n\nalpha changed").unwrap();
        kbs.invalidate(Some("docs"));
        assert_ne!(kbs.load("docs").unwrap().version, first.version);
        assert!(matches!(kbs.load("missing"), Err(KbError::Unknown(_))));
    }
}
