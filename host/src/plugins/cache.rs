//! The artifact cache: precompiled components on disk, keyed by the file's sha256 and the
//! engine's compatibility hash, so a restart or a swap back to a known file skips Cranelift.
//! Only components that passed validation and their smoke call are written; the directory is
//! bounded in bytes and evicts the least recently used artifacts (a read refreshes one).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub struct ArtifactCache {
    dir: PathBuf,
    max_bytes: u64,
    compatibility: String,
}

impl ArtifactCache {
    pub fn new(dir: PathBuf, max_bytes: u64, compatibility: String) -> ArtifactCache {
        ArtifactCache {
            dir,
            max_bytes,
            compatibility,
        }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{sha256}-{}.cwasm", self.compatibility))
    }

    /// The artifact of `sha256`, if cached (marking it recently used).
    pub fn get(&self, sha256: &str) -> Option<PathBuf> {
        let path = self.path(sha256);
        let file = std::fs::File::options().append(true).open(&path).ok()?;
        let _ = file.set_modified(SystemTime::now());
        Some(path)
    }

    /// Keep `artifact` for `sha256`, then evict the oldest artifacts beyond the bound.
    pub fn put(&self, sha256: &str, artifact: &[u8]) {
        if artifact.len() as u64 > self.max_bytes {
            return;
        }
        let path = self.path(sha256);
        let written = std::fs::create_dir_all(&self.dir).and_then(|_| {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, artifact)?;
            std::fs::rename(&tmp, &path)
        });
        if let Err(error) = written {
            tracing::warn!("cannot write plugin cache {}: {error}", self.dir.display());
            return;
        }
        self.evict();
    }

    /// Bytes the cache holds now.
    pub fn size(&self) -> u64 {
        entries(&self.dir).iter().map(|(_, len, _)| len).sum()
    }

    fn evict(&self) {
        let mut entries = entries(&self.dir);
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        entries.sort_by_key(|(_, _, used)| *used);
        for (path, len, _) in entries {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                tracing::info!("plugin cache: evicted {}", path.display());
            }
        }
    }
}

/// `(path, bytes, last used)` of every artifact in `dir`.
fn entries(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((e.path(), meta.len(), meta.modified().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bounded_and_least_recently_used_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::new(dir.path().to_path_buf(), 250, "c0".into());
        cache.put("a", &[0; 100]);
        cache.put("b", &[0; 100]);
        let old = SystemTime::now() - Duration::from_secs(60);
        for sha in ["a", "b"] {
            let file = std::fs::File::options()
                .append(true)
                .open(cache.path(sha))
                .unwrap();
            file.set_modified(old + Duration::from_secs(u64::from(sha == "b")))
                .unwrap();
        }
        assert!(cache.get("a").is_some(), "a read refreshes a");
        cache.put("c", &[0; 100]);
        assert!(cache.get("b").is_none(), "b was least recently used");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert!(cache.size() <= 250);
        cache.put("huge", &[0; 1000]);
        assert!(cache.get("huge").is_none(), "larger than the whole cache");
    }
}
