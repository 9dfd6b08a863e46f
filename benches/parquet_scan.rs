//! How fast a Parquet table is read, against the ceilings: the file's bytes from the page cache
//! or disk, and the decoding alone; then the one-pass moments (what exact least squares needs).
//!
//! ```sh
//! linreg generate --rows 20000000 --features 15 --output /tmp/t.parquet   # release build
//! cargo bench --bench parquet_scan -- /tmp/t.parquet [y]
//! ```
//!
//! Prints, for each stage, seconds and GB/s of uncompressed f32 values (rows × columns × 4).

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use linreg_io::{IoError, ScanOptions, Selection, Source};
use linreg_stream::{moments_pass, Part, RowSplit};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(path) = args.first().map(PathBuf::from) else {
        eprintln!("usage: cargo bench --bench parquet_scan -- FILE.parquet [TARGET]");
        return Ok(());
    };
    let target = args.get(1).cloned().unwrap_or_else(|| "y".into());
    let source = Source::open(&path)?;
    let selected = source.select(&Selection::new(vec![target], None, None))?;
    let rows = source.rows()?.unwrap_or(0);
    let cols = selected.names().len() as u64;
    let values = (rows * cols * 4) as f64;
    let file_bytes = source.bytes();
    println!(
        "{}: {rows} rows × {cols} columns, {:.2} GB of f32 values, {:.2} GB on disk",
        path.display(),
        values / 1e9,
        file_bytes as f64 / 1e9
    );
    let report = |what: &str, secs: f64| {
        println!(
            "{what:<44} {secs:>7.2} s  {:>6.2} GB/s of values",
            values / 1e9 / secs
        );
    };

    // 1. The bytes, one thread, 8 MiB reads (page cache if the file is cached).
    let t = Instant::now();
    let mut buf = vec![0u8; 8 << 20];
    for f in source.files() {
        let mut file = std::fs::File::open(f)?;
        while file.read(&mut buf)? > 0 {}
    }
    report(
        "read the file's bytes (1 thread)",
        t.elapsed().as_secs_f64(),
    );

    // 2. Decoding only: every value touched (summed), nothing else.
    let options = ScanOptions::default();
    let t = Instant::now();
    let sums = source.scan::<f32, _, IoError>(
        &selected,
        &options,
        || 0f64,
        |s, c| {
            for col in c.columns() {
                *s += col.iter().map(|&v| f64::from(v)).sum::<f64>();
            }
            Ok(())
        },
    )?;
    std::hint::black_box(sums);
    report(
        &format!("decode + sum ({} threads)", options.threads()),
        t.elapsed().as_secs_f64(),
    );

    // 3. The moments of every row (what `train --solver exact` reads).
    let part = Part::new(&source, &selected, RowSplit::All);
    let t = Instant::now();
    let pass = moments_pass(&part, &options)?;
    report(
        "one-pass moments (exact least squares)",
        t.elapsed().as_secs_f64(),
    );
    assert_eq!(pass.train.plain.rows(), rows);
    Ok(())
}
