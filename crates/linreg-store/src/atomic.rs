//! Atomic writes: a file is replaced whole or not at all.

use std::path::Path;

use crate::StoreError;

/// Writes `bytes` to `path` atomically (temporary file beside it, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_all_atomic(&[(path, bytes)])
}

/// Writes several files so that none is replaced unless all were written (see
/// [`linreg_atomic::write_all`]).
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<(), StoreError> {
    if let Some(&(path, _)) = files.iter().find(|(p, _)| p.file_name().is_none()) {
        return Err(StoreError::NoFileName(path.to_path_buf()));
    }
    linreg_atomic::write_all(files).map_err(|(i, source)| StoreError::Write {
        path: files[i].0.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
