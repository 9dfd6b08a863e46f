//! The output directory. The files themselves (model record, `model.json`, `summary.json`,
//! atomic writes) are written by the `linreg-store` crate.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Refuses an output path that is a file, without creating anything.
pub fn check_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "--out {} is a file, not a directory; give a directory path",
            dir.display()
        );
    }
    Ok(())
}

/// Creates the output directory, refusing a path that is a file.
pub fn prepare_out_dir(dir: &Path) -> Result<()> {
    check_out_dir(dir)?;
    fs::create_dir_all(dir).with_context(|| format!("could not create --out {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_dir_that_is_a_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("linreg-outfile-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        fs::write(&file, b"keep").unwrap();
        let err = prepare_out_dir(&file).unwrap_err().to_string();
        assert!(err.contains("is a file"), "{err}");
        assert_eq!(fs::read(&file).unwrap(), b"keep");
        fs::remove_dir_all(dir).unwrap();
    }
}
