//! Files replaced whole or not at all. Every file linreg writes (models, summaries, plots,
//! reports, predictions, Parquet) goes through here: it is written to a temporary file beside
//! its target, then renamed over it, so a reader sees the old file or the new one, never
//! half of one; and a write that fails, or is abandoned, leaves no temporary file behind.
//!
//! ```
//! use std::io::Write;
//!
//! let dir = std::env::temp_dir().join(format!("linreg-atomic-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("out.csv");
//! linreg_atomic::write(&path, b"old\n")?;
//!
//! // Streamed: the old file stays until `commit`.
//! let mut file = linreg_atomic::AtomicFile::create(&path)?;
//! file.write_all(b"new\n")?;
//! assert_eq!(std::fs::read(&path)?, b"old\n");
//! file.commit()?;
//! assert_eq!(std::fs::read(&path)?, b"new\n");
//!
//! // Dropped without `commit`: nothing changes, nothing is left.
//! let mut file = linreg_atomic::AtomicFile::create(&path)?;
//! file.write_all(b"abandoned\n")?;
//! drop(file);
//! assert_eq!(std::fs::read(&path)?, b"new\n");
//! assert_eq!(std::fs::read_dir(&dir)?.count(), 1);
//! # std::fs::remove_dir_all(dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary path beside a target: [`Staged::commit`] renames it over the target; dropped
/// uncommitted, it is removed.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    armed: bool,
}

impl Staged {
    /// A fresh temporary path beside `path`: in the same directory (so the rename is atomic),
    /// hidden, unique to this process and call, and ending in the target's extension (so
    /// writers that choose a format by the extension choose the same one).
    pub fn beside(path: &Path) -> io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::other("the path has no file name"))?
            .to_string_lossy();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}-{n}.tmp{ext}", std::process::id()));
        Ok(Self {
            tmp,
            path: path.to_path_buf(),
            armed: true,
        })
    }

    /// Where to write.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// The target.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary file over the target; the target's path.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        fs::rename(&self.tmp, &self.path)?;
        self.armed = false;
        Ok(self.path.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A file written aside (buffered), put in place by [`AtomicFile::commit`]; dropped
/// uncommitted, it is removed and the target is untouched.
#[derive(Debug)]
pub struct AtomicFile {
    file: BufWriter<File>,
    staged: Staged,
}

impl AtomicFile {
    /// Starts writing what will replace `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let staged = Staged::beside(path)?;
        let file = BufWriter::new(File::create(staged.tmp())?);
        Ok(Self { file, staged })
    }

    /// The file it will replace.
    pub fn path(&self) -> &Path {
        self.staged.path()
    }

    /// Flushes, syncs to disk, and renames over the target; the target's path.
    pub fn commit(self) -> io::Result<PathBuf> {
        let Self { file, staged } = self;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        staged.commit()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Replaces `path` with `bytes`.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_parts(path, &[bytes])
}

/// Replaces `path` with `parts`, one after the other.
pub fn write_parts(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    parts.iter().try_for_each(|p| file.write_all(p))?;
    file.commit().map(drop)
}

/// Replaces several files so that none is replaced unless all were written: each goes to a
/// temporary file beside its target first, and only then are they renamed over the targets
/// (renames within a directory do not fail half-way through a file). On failure, the index
/// of the file that failed and why.
pub fn write_all(files: &[(&Path, &[u8])]) -> Result<(), (usize, io::Error)> {
    let mut staged = Vec::with_capacity(files.len());
    for (i, &(path, bytes)) in files.iter().enumerate() {
        let write = || -> io::Result<Staged> {
            let s = Staged::beside(path)?;
            fs::write(s.tmp(), bytes)?;
            Ok(s)
        };
        staged.push(write().map_err(|e| (i, e))?);
    }
    for (i, s) in staged.into_iter().enumerate() {
        s.commit().map_err(|e| (i, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("linreg-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_written_together_are_all_or_nothing() {
        let dir = tmp("pair");
        let first = dir.join("a.mpk");
        fs::write(&first, b"old").unwrap();
        let unwritable = dir.join("missing-dir").join("a.json");
        let (i, _) = write_all(&[(&first, b"new"), (&unwritable, b"{}")]).unwrap_err();
        assert_eq!(i, 1);
        assert_eq!(
            fs::read(&first).unwrap(),
            b"old",
            "the first file is untouched"
        );
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        write_all(&[(&first, b"new"), (&dir.join("b"), b"b")]).unwrap();
        assert_eq!(fs::read(&first).unwrap(), b"new");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_temporary_path_keeps_the_extension_and_is_unique() {
        let (a, b) = (
            Staged::beside(Path::new("d/plot.png")).unwrap(),
            Staged::beside(Path::new("d/plot.png")).unwrap(),
        );
        assert_eq!(a.tmp().extension().unwrap(), "png");
        assert_eq!(a.tmp().parent(), Some(Path::new("d")));
        assert_ne!(a.tmp(), b.tmp());
        assert!(Staged::beside(Path::new("/")).is_err());
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tmp("fail");
        assert!(write(&dir.join("no").join("x"), b"x").is_err());
        let path = dir.join("x");
        fs::write(&path, b"keep").unwrap();
        let staged = Staged::beside(&path).unwrap();
        fs::write(staged.tmp(), b"half").unwrap();
        drop(staged);
        assert_eq!(fs::read(&path).unwrap(), b"keep");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(dir).unwrap();
    }
}
