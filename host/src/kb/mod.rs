//! Knowledge bases on disk: `KB_DIR/<kb_id>/` with `.md` and `.txt` documents.

use std::path::Path;

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
    if kb_dir.join(kb_id).is_dir() {
        Ok(())
    } else {
        Err(format!("Unknown knowledge base '{kb_id}'"))
    }
}
