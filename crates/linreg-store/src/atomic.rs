//! Atomic writes: a file is replaced whole or not at all.

use std::fs;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Writes `bytes` to `path` atomically (temporary file beside it, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_all_atomic(&[(path, bytes)])
}

/// Writes several files so that none is replaced unless all were written: each goes to a
/// temporary file beside its target first, and only then are they renamed over the targets
/// (renames within a directory do not fail half-way through a file).
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<(), StoreError> {
    let mut staged: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let cleanup = |staged: &[(PathBuf, &Path)]| {
        for (tmp, _) in staged {
            let _ = fs::remove_file(tmp);
        }
    };
    for &(path, bytes) in files {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            cleanup(&staged);
            return Err(StoreError::NoFileName(path.to_path_buf()));
        };
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        if let Err(source) = fs::write(&tmp, bytes) {
            let _ = fs::remove_file(&tmp);
            cleanup(&staged);
            return Err(StoreError::Write {
                path: path.to_path_buf(),
                source,
            });
        }
        staged.push((tmp, path));
    }
    for (i, (tmp, path)) in staged.iter().enumerate() {
        if let Err(source) = fs::rename(tmp, path) {
            cleanup(&staged[i..]);
            return Err(StoreError::Write {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_written_together_are_all_or_nothing() {
        let dir = crate::tests::tmp("pair");
        let first = dir.join("a.mpk");
        fs::write(&first, b"old").unwrap();
        let unwritable = dir.join("missing-dir").join("a.json");
        let err = write_all_atomic(&[(&first, b"new"), (&unwritable, b"{}")]).unwrap_err();
        assert!(
            matches!(&err, StoreError::Write { path, .. } if path == &unwritable),
            "{err}"
        );
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
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_single_file_replaces_the_old_one() {
        let dir = crate::tests::tmp("single");
        let path = dir.join("s.json");
        fs::write(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        assert!(matches!(
            write_atomic(Path::new("/"), b"x"),
            Err(StoreError::NoFileName(_))
        ));
        fs::remove_dir_all(dir).unwrap();
    }
}
