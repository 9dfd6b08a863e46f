//! Turning table options into the data crate's reading options.

use anyhow::{bail, Result};
use linreg_data::CsvOptions;

use crate::cli::TableArgs;

/// The reading options `args` ask for; `--delimiter` must be one ASCII character (or `\t`).
pub fn csv_options(args: &TableArgs) -> Result<CsvOptions> {
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some("\\t" | "tab" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => bail!("--delimiter {d:?} is invalid: give one character, such as , or ; or \\t"),
    };
    Ok(CsvOptions { delimiter })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(d: Option<&str>) -> TableArgs {
        TableArgs {
            data: "x.csv".into(),
            delimiter: d.map(String::from),
            memory_limit: Default::default(),
        }
    }

    #[test]
    fn delimiters() {
        assert_eq!(csv_options(&args(None)).unwrap().delimiter, None);
        assert_eq!(csv_options(&args(Some(";"))).unwrap().delimiter, Some(b';'));
        assert_eq!(
            csv_options(&args(Some("\\t"))).unwrap().delimiter,
            Some(b'\t')
        );
        assert!(csv_options(&args(Some(";;"))).is_err());
    }
}
