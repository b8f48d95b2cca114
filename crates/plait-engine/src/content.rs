//! The content of `file` values: blake3 of a file, or of a directory as a tree (the hash of
//! its manifest, `plait_store::blobs::digest_path`), memoised by size and modification time.
//! A run's cache keys and a live flow's early cut-off both compare files by it.

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::sync::lock;

/// Memo of file hashes, so a file read many times is hashed once while unchanged.
#[derive(Default)]
pub(crate) struct FileHashes {
    files: Mutex<HashMap<PathBuf, (FileStamp, String)>>,
}

/// What tells a file changed without reading it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

/// What the memo knows of a file.
enum Memo {
    /// Its hash: the file has the stamp it was hashed at.
    Known(String),
    /// Nothing: its stamp, to remember with the hash once it is read.
    Unknown(FileStamp),
}

impl FileStamp {
    fn of(meta: &Metadata) -> FileStamp {
        FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

impl FileHashes {
    /// The hash of `path`'s content (hex). Looks at the file's metadata here and reads it,
    /// if the memo does not know it, on a blocking thread. An error says which file.
    pub(crate) async fn hash(&self, path: PathBuf) -> Result<String, String> {
        let stamp = match self.remembered(&path)? {
            Memo::Known(hash) => return Ok(hash),
            Memo::Unknown(stamp) => stamp,
        };
        let shown = path.display().to_string();
        let hashed = path.clone();
        let digest = tokio::task::spawn_blocking(move || plait_store::blobs::digest_path(&hashed))
            .await
            .map_err(|error| format!("(file {shown}): {error}"))?
            .map_err(|error| format!("(file {shown}): {error}"))?;
        lock(&self.files).insert(path, (stamp, digest.hash.clone()));
        Ok(digest.hash)
    }

    /// [`FileHashes::hash`], all on the calling thread: for code already on a blocking one.
    pub(crate) fn hash_blocking(&self, path: &Path) -> Result<String, String> {
        let stamp = match self.remembered(path)? {
            Memo::Known(hash) => return Ok(hash),
            Memo::Unknown(stamp) => stamp,
        };
        let digest = plait_store::blobs::digest_path(path)
            .map_err(|error| format!("(file {}): {error}", path.display()))?;
        lock(&self.files).insert(path.to_path_buf(), (stamp, digest.hash.clone()));
        Ok(digest.hash)
    }

    fn remembered(&self, path: &Path) -> Result<Memo, String> {
        let meta = std::fs::metadata(path)
            .map_err(|error| format!("(file {}): {error}", path.display()))?;
        let stamp = FileStamp::of(&meta);
        // A directory's own stamp does not change when a file in it does: hashed each time.
        if !meta.is_dir()
            && let Some((seen, hash)) = lock(&self.files).get(path)
            && *seen == stamp
        {
            return Ok(Memo::Known(hash.clone()));
        }
        Ok(Memo::Unknown(stamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_hashed_by_content_and_a_directory_as_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a");
        std::fs::write(&file, "one").unwrap();
        let hashes = FileHashes::default();
        let first = hashes.hash_blocking(&file).unwrap();
        assert_eq!(first, blake3::hash(b"one").to_hex().as_str());
        assert_eq!(hashes.hash_blocking(&file).unwrap(), first, "from the memo");
        std::fs::write(&file, "three").unwrap();
        assert_ne!(hashes.hash_blocking(&file).unwrap(), first);
        let tree = hashes.hash_blocking(dir.path()).unwrap();
        std::fs::write(dir.path().join("b"), "two").unwrap();
        assert_ne!(hashes.hash_blocking(dir.path()).unwrap(), tree);
        let missing = hashes.hash_blocking(&dir.path().join("missing"));
        assert!(missing.unwrap_err().contains("missing"));
    }
}
