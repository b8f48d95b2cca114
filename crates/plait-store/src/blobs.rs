//! A content-addressed directory of files: where a store keeps `file` outputs so a cache hit
//! can put them back. A blob is named by the blake3 hash of its content
//! (`<root>/ab/abcdef...`), written to a temporary name and renamed into place, so a reader
//! never sees half a blob; a restore re-hashes what it copies, so a damaged blob is a miss,
//! never a wrong file.
//!
//! A directory is kept as a *tree*: each of its files as a blob, and a manifest (a blob too,
//! starting with [`TREE_MAGIC`]) listing them by relative path. A directory's digest is its
//! manifest's, so it changes exactly when a file in it is added, removed, renamed or changed.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::Blob;

/// How a manifest starts: no text file does, so a blob is a tree exactly when it does.
pub const TREE_MAGIC: &[u8] = b"\0plait-tree-v1\0";

/// One file of a tree: its path relative to the tree's root (`/`-separated), its blob, and
/// whether it is executable.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct TreeFile {
    path: String,
    hash: String,
    size: u64,
    executable: bool,
}

/// The files under `dir`, sorted by relative path (symbolic links are followed).
fn tree_files(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if fs::metadata(&path)?.is_dir() {
                walk(root, &path, files)?;
            } else {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                files.push((parts.join("/"), path));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

/// The manifest of the tree at `dir`, each file hashed by `file` (which may also keep it).
fn manifest(dir: &Path, mut file: impl FnMut(&Path) -> io::Result<Blob>) -> io::Result<Vec<u8>> {
    let mut files = Vec::new();
    for (path, full) in tree_files(dir)? {
        let blob = file(&full)?;
        files.push(TreeFile {
            path,
            hash: blob.hash,
            size: blob.size,
            executable: is_executable(&fs::metadata(&full)?),
        });
    }
    let mut bytes = TREE_MAGIC.to_vec();
    serde_json::to_writer(&mut bytes, &files).map_err(io::Error::other)?;
    Ok(bytes)
}

/// The hash and size of a file's content; for a directory, of its manifest.
pub fn digest_path(path: &Path) -> io::Result<Blob> {
    if fs::metadata(path)?.is_dir() {
        let bytes = manifest(path, digest_file)?;
        return Ok(Blob {
            hash: blake3::hash(&bytes).to_hex().to_string(),
            size: bytes.len() as u64,
        });
    }
    digest_file(path)
}

/// The hash and size of a file's content.
pub fn digest_file(path: &Path) -> io::Result<Blob> {
    let mut hasher = blake3::Hasher::new();
    let size = io::copy(&mut File::open(path)?, &mut HashWriter(&mut hasher))?;
    Ok(Blob {
        hash: hasher.finalize().to_hex().to_string(),
        size,
    })
}

/// Feeds what is written into a hasher (blake3's own `update_reader` needs a `Read`; this
/// lets one `io::copy` hash while it copies).
struct HashWriter<'h>(&'h mut blake3::Hasher);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Copies `from` into a new temporary file in `dir`, hashing on the way: the content kept is
/// exactly the content hashed, read once.
fn copy_hashing(from: &Path, dir: &Path) -> io::Result<(tempfile::NamedTempFile, Blob)> {
    fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    let mut source = File::open(from)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = source.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        temp.write_all(&buf[..n])?;
        size += n as u64;
    }
    temp.as_file()
        .set_permissions(source.metadata()?.permissions())?;
    let hash = hasher.finalize().to_hex().to_string();
    Ok((temp, Blob { hash, size }))
}

/// Syncs a finished copy and renames it to `to`.
fn persist(temp: tempfile::NamedTempFile, to: &Path) -> io::Result<()> {
    temp.as_file().sync_all()?;
    temp.persist(to).map_err(|error| error.error)?;
    Ok(())
}

/// Copies `from` to `to` through a temporary file beside `to`, hashing on the way; the copy
/// is renamed into place only if its hash is `expect`.
fn copy_checked(from: &Path, to: &Path, expect: &str) -> io::Result<bool> {
    let dir = to
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (temp, blob) = copy_hashing(from, dir)?;
    if blob.hash != expect {
        return Ok(false);
    }
    persist(temp, to)?;
    Ok(true)
}

/// A blob directory.
#[derive(Clone, Debug)]
pub struct BlobDir {
    root: PathBuf,
}

/// A blob on disk, as `gc` and `stats` see it.
#[derive(Clone, Debug)]
pub struct StoredBlob {
    pub hash: String,
    pub size: u64,
}

impl BlobDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        BlobDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the blob is kept (not whether it is intact: a restore checks that).
    pub fn contains(&self, hash: &str) -> bool {
        hash.len() == 64
            && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
            && self.path(hash).is_file()
    }

    fn path(&self, hash: &str) -> PathBuf {
        let prefix = hash.get(..2).unwrap_or("00");
        self.root.join(prefix).join(hash)
    }

    /// Keeps a copy of the file (or the directory, as a tree) at `path`, unless the same
    /// content is kept already.
    pub fn put(&self, path: &Path) -> io::Result<Blob> {
        if fs::metadata(path)?.is_dir() {
            let bytes = manifest(path, |file| self.put(file))?;
            return self.put_bytes(&bytes);
        }
        // Copied first and named by what was copied: the file is read once, and a file
        // changing meanwhile is kept as it was read.
        let (temp, blob) = copy_hashing(path, &self.root)?;
        let target = self.path(&blob.hash);
        if !target.exists() {
            fs::create_dir_all(target.parent().expect("a blob path has a shard directory"))?;
            persist(temp, &target)?;
        }
        Ok(blob)
    }

    /// Keeps `bytes` (a manifest) as a blob.
    fn put_bytes(&self, bytes: &[u8]) -> io::Result<Blob> {
        let blob = Blob {
            hash: blake3::hash(bytes).to_hex().to_string(),
            size: bytes.len() as u64,
        };
        let target = self.path(&blob.hash);
        if !target.exists() {
            let dir = target.parent().expect("a blob path has a shard directory");
            fs::create_dir_all(dir)?;
            let mut temp = tempfile::NamedTempFile::new_in(dir)?;
            temp.write_all(bytes)?;
            temp.as_file().sync_all()?;
            temp.persist(&target).map_err(|error| error.error)?;
        }
        Ok(blob)
    }

    /// The manifest a blob holds, if it is a tree (and readable). Only the magic is read
    /// of a blob that is not: a restore and a gc ask this of every blob they meet.
    fn tree(&self, hash: &str) -> Option<Vec<TreeFile>> {
        let mut file = File::open(self.path(hash)).ok()?;
        let mut magic = [0u8; TREE_MAGIC.len()];
        file.read_exact(&mut magic).ok()?;
        if magic != TREE_MAGIC {
            return None;
        }
        let mut bytes = magic.to_vec();
        file.read_to_end(&mut bytes).ok()?;
        let json = &bytes[TREE_MAGIC.len()..];
        if blake3::hash(&bytes).to_hex().as_str() != hash {
            return None;
        }
        serde_json::from_slice(json).ok()
    }

    /// The kept blobs that none of `hashes` needs (see [`BlobDir::needed`]): what a gc
    /// removes once the entries naming `hashes` are all that remain.
    pub fn unneeded<'h>(
        &self,
        hashes: impl IntoIterator<Item = &'h str>,
    ) -> io::Result<Vec<String>> {
        let needed = self.needed(hashes);
        Ok(self
            .list()?
            .into_iter()
            .map(|blob| blob.hash)
            .filter(|hash| !needed.contains(hash))
            .collect())
    }

    /// How many blobs are kept, and their bytes.
    pub fn usage(&self) -> io::Result<(u64, u64)> {
        let kept = self.list()?;
        Ok((kept.len() as u64, kept.iter().map(|blob| blob.size).sum()))
    }

    /// The blobs `hashes` need kept: themselves and, for trees, their files.
    pub fn needed<'h>(&self, hashes: impl IntoIterator<Item = &'h str>) -> HashSet<String> {
        let mut needed = HashSet::new();
        for hash in hashes {
            if let Some(files) = self.tree(hash) {
                needed.extend(files.into_iter().map(|file| file.hash));
            }
            needed.insert(hash.to_owned());
        }
        needed
    }

    /// Puts a tree back at `to`, replacing what is there; built beside it and renamed into
    /// place, so `to` is never half a tree.
    fn restore_tree(&self, files: &[TreeFile], blob: &Blob, to: &Path) -> io::Result<bool> {
        if fs::metadata(to).is_ok_and(|meta| meta.is_dir())
            && digest_path(to).is_ok_and(|there| there.hash == blob.hash)
        {
            return Ok(true);
        }
        let parent = to
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)?;
        let building = tempfile::Builder::new()
            .prefix(".plait-restore-")
            .tempdir_in(parent)?;
        for file in files {
            let target = building.path().join(&file.path);
            let copied = Blob {
                hash: file.hash.clone(),
                size: file.size,
            };
            if !self.restore(&copied, &target)? {
                return Ok(false);
            }
            if file.executable {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&target, fs::Permissions::from_mode(0o755))?;
            }
        }
        let building = building.keep();
        if let Ok(meta) = fs::symlink_metadata(to) {
            if meta.is_dir() {
                fs::remove_dir_all(to)?;
            } else {
                fs::remove_file(to)?;
            }
        }
        fs::rename(&building, to)?;
        Ok(true)
    }

    /// Puts the blob's content at `to` (a tree as a directory). `Ok(false)` if the blob is
    /// gone or damaged (the damaged copy is removed): the result cannot be restored.
    pub fn restore(&self, blob: &Blob, to: &Path) -> io::Result<bool> {
        let source = self.path(&blob.hash);
        if !source.exists() {
            return Ok(false);
        }
        if let Some(files) = self.tree(&blob.hash) {
            return self.restore_tree(&files, blob, to);
        }
        // Already there, as a task that rewrote the same content would have left it.
        if let Ok(meta) = fs::metadata(to)
            && meta.len() == blob.size
            && digest_file(to)?.hash == blob.hash
        {
            return Ok(true);
        }
        if copy_checked(&source, to, &blob.hash)? {
            return Ok(true);
        }
        remove_quietly(&source);
        Ok(false)
    }

    /// Every blob kept.
    pub fn list(&self) -> io::Result<Vec<StoredBlob>> {
        let mut blobs = Vec::new();
        let shards = match fs::read_dir(&self.root) {
            Ok(shards) => shards,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(blobs),
            Err(error) => return Err(error),
        };
        for shard in shards {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for file in fs::read_dir(shard.path())? {
                let file = file?;
                let meta = file.metadata()?;
                // Temporary files of a put in progress are not blobs yet.
                let name = file.file_name().to_string_lossy().into_owned();
                if !meta.is_file() || name.len() != 64 {
                    continue;
                }
                blobs.push(StoredBlob {
                    hash: name,
                    size: meta.len(),
                });
            }
        }
        Ok(blobs)
    }

    pub fn remove(&self, hash: &str) -> io::Result<()> {
        match fs::remove_file(self.path(hash)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// A damaged blob is removed on a best-effort basis: failing to remove it only means the
/// next restore checks it again.
fn remove_quietly(path: &Path) {
    let _ = fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_kept_as_trees() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobDir::new(dir.path().join("blobs"));
        let out = dir.path().join("out");
        fs::create_dir_all(out.join("sub")).unwrap();
        fs::write(out.join("a.txt"), b"a").unwrap();
        fs::write(out.join("sub/b.txt"), b"b").unwrap();
        let tree = blobs.put(&out).unwrap();
        assert_eq!(tree, digest_path(&out).unwrap());
        assert_eq!(
            blobs.needed([tree.hash.as_str()]).len(),
            3,
            "the manifest and two files"
        );

        fs::write(out.join("sub/b.txt"), b"changed").unwrap();
        fs::write(out.join("extra.txt"), b"x").unwrap();
        assert_ne!(digest_path(&out).unwrap(), tree);
        assert!(blobs.restore(&tree, &out).unwrap());
        assert_eq!(fs::read(out.join("sub/b.txt")).unwrap(), b"b");
        assert!(
            !out.join("extra.txt").exists(),
            "the tree replaces what was there"
        );
        assert_eq!(digest_path(&out).unwrap(), tree);
        fs::remove_dir_all(&out).unwrap();
        assert!(blobs.restore(&tree, &out).unwrap());
        assert_eq!(fs::read(out.join("a.txt")).unwrap(), b"a");
    }

    #[test]
    fn put_then_restore_round_trips_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobDir::new(dir.path().join("blobs"));
        let file = dir.path().join("out.txt");
        fs::write(&file, b"hello").unwrap();
        let blob = blobs.put(&file).unwrap();
        assert_eq!(blob.size, 5);
        assert_eq!(blob, digest_file(&file).unwrap());
        // Idempotent.
        assert_eq!(blobs.put(&file).unwrap(), blob);
        assert_eq!(blobs.list().unwrap().len(), 1);

        fs::write(&file, b"changed").unwrap();
        assert!(blobs.restore(&blob, &file).unwrap());
        assert_eq!(fs::read(&file).unwrap(), b"hello");
        let elsewhere = dir.path().join("a/b/c.txt");
        assert!(blobs.restore(&blob, &elsewhere).unwrap());
        assert_eq!(fs::read(&elsewhere).unwrap(), b"hello");

        // A damaged blob is a miss, and is removed.
        fs::write(blobs.path(&blob.hash), b"hellO").unwrap();
        fs::remove_file(&file).unwrap();
        assert!(!blobs.restore(&blob, &file).unwrap());
        assert!(!file.exists());
        assert!(!blobs.restore(&blob, &file).unwrap());
        assert!(blobs.list().unwrap().is_empty());
    }
}
