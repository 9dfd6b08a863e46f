//! Reading Parquet and CSV sources: whole, scanned in parallel and streamed in order give the
//! same rows; every problem names its file, row group, column and row.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use linreg_io::{IoError, ParquetWriter, ScanOptions, Selection, Source, WriteOptions};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("linreg-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Rows `i = from..to` of a table `a = i, b = i % 7 − 3, y = 2a − b`.
fn columns(from: usize, to: usize) -> Vec<Vec<f32>> {
    let a: Vec<f32> = (from..to).map(|i| i as f32).collect();
    let b: Vec<f32> = (from..to).map(|i| (i % 7) as f32 - 3.0).collect();
    let y: Vec<f32> = a.iter().zip(&b).map(|(a, b)| 2.0 * a - b).collect();
    vec![a, b, y]
}

fn write(path: &Path, from: usize, to: usize, row_group_rows: usize) {
    let names = ["a", "b", "y"].map(String::from);
    let options = WriteOptions {
        row_group_rows,
        ..Default::default()
    };
    let mut w = ParquetWriter::create(path, &names, options).unwrap();
    let cols = columns(from, to);
    // In several batches, to cross row groups.
    for start in (0..to - from).step_by(333) {
        let end = (start + 333).min(to - from);
        let part: Vec<&[f32]> = cols.iter().map(|c| &c[start..end]).collect();
        w.write_columns(&part).unwrap();
    }
    w.finish().unwrap();
}

fn sel(targets: &[&str]) -> Selection {
    Selection::new(targets.iter().map(|s| s.to_string()).collect(), None, None)
}

#[test]
fn files_directories_and_globs_read_whole_scanned_and_streamed_agree() {
    let d = dir("agree");
    write(&d.join("part-0.parquet"), 0, 2500, 1000);
    std::fs::create_dir_all(d.join("zone=2")).unwrap();
    write(&d.join("zone=2/part-1.parquet"), 2500, 4000, 700);
    std::fs::write(d.join("_SUCCESS"), "").unwrap();

    let whole = columns(0, 4000);
    for spec in [d.clone(), d.join("**/*.parquet")] {
        let source = Source::open(&spec).unwrap();
        assert_eq!(source.files().len(), 2, "{spec:?}");
        assert_eq!(source.rows().unwrap(), Some(4000));
        let s = source.select(&sel(&["y"])).unwrap();
        assert_eq!(s.features(), ["a", "b"]);
        let t = source.read_all::<f64>(&s).unwrap();
        assert_eq!(t.data.len(), 4000);
        assert_eq!(t.data.x.row(3999), &[3999.0, f64::from(whole[1][3999])]);
        assert_eq!(t.data.y.values()[2500], f64::from(whole[2][2500]));

        // Parallel scan: every row once; sums per thread add up.
        let options = ScanOptions {
            threads: 3,
            batch_rows: 128,
            unit_rows: 300,
            ..Default::default()
        };
        let states = source
            .scan::<f32, _, IoError>(
                &s,
                &options,
                || (0u64, 0.0f64, Vec::new()),
                |st, c| {
                    st.0 += c.rows() as u64;
                    st.1 += c.targets()[0].iter().map(|&v| f64::from(v)).sum::<f64>();
                    // The first row index matches the values (a = row index).
                    assert_eq!(c.features()[0][0] as u64, c.first_row());
                    st.2.push(c.first_row());
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(states.iter().map(|s| s.0).sum::<u64>(), 4000);
        let want: f64 = whole[2].iter().map(|&v| f64::from(v)).sum();
        assert_eq!(states.iter().map(|s| s.1).sum::<f64>(), want);

        // Streamed in a chosen order of units: exactly that order.
        let units = source.units_of(options.unit_rows);
        assert!(
            units.len() >= 14,
            "row groups cut into runs: {}",
            units.len()
        );
        let order: Vec<usize> = (0..units.len()).rev().collect();
        let mut firsts = Vec::new();
        source
            .stream::<f32, IoError>(&s, &options, Some(&order), |c| {
                firsts.push((c.first_row(), c.rows()));
                Ok(())
            })
            .unwrap();
        let mut expected = Vec::new();
        for &i in &order {
            let u = units[i];
            let mut at = 0;
            while at < u.rows {
                let len = (u.rows - at).min(128);
                expected.push((u.first_row + at, len as usize));
                at += len;
            }
        }
        assert_eq!(firsts, expected);
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn column_types_are_converted_and_non_numeric_refused() {
    let d = dir("types");
    let path = d.join("t.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int32, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("d", DataType::Float64, true),
        Field::new("y", DataType::Float32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef,
            Arc::new(StringArray::from(vec!["a", "b", "c"])),
            Arc::new(Float64Array::from(vec![0.1, 0.2, 0.3])),
            Arc::new(Float32Array::from(vec![1.5, 2.5, 3.5])),
        ],
    )
    .unwrap();
    let mut w = ParquetWriter::with_schema(&path, schema, WriteOptions::default()).unwrap();
    w.write_batch(&batch).unwrap();
    w.finish().unwrap();
    let source = Source::open(&path).unwrap();
    let s = source.select(&sel(&["y"])).unwrap();
    assert_eq!(s.features(), ["i", "d"], "text columns are not features");
    let t = source.read_all::<f32>(&s).unwrap();
    assert_eq!(t.data.x.values(), &[1.0, 0.1, 2.0, 0.2, 3.0, 0.3]);
    let err = source
        .select(&Selection::new(
            vec!["y".into()],
            Some(vec!["name".into()]),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("column 'name' holds Utf8, not numbers"),
        "{err}"
    );
    let err = source.select(&sel(&["z"])).unwrap_err().to_string();
    assert!(
        err.contains("has no column 'z'; its columns are: i, name, d, y"),
        "{err}"
    );
    let err = source
        .select(&Selection::new(
            vec!["y".into()],
            Some(vec!["y".into()]),
            None,
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("both a target and a feature"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn nulls_and_non_finite_values_name_file_row_group_column_and_row() {
    let d = dir("nulls");
    let path = d.join("n.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, true),
        Field::new("y", DataType::Float64, true),
    ]));
    let n = 2500;
    let x: Vec<Option<f64>> = (0..n).map(|i| (i != 2100).then_some(i as f64)).collect();
    let mut y: Vec<Option<f64>> = (0..n).map(|i| Some(i as f64)).collect();
    y[1500] = Some(f64::NAN);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Float64Array::from(x)) as ArrayRef,
            Arc::new(Float64Array::from(y)),
        ],
    )
    .unwrap();
    let options = WriteOptions {
        row_group_rows: 1000,
        ..Default::default()
    };
    let mut w = ParquetWriter::with_schema(&path, schema, options).unwrap();
    w.write_batch(&batch).unwrap();
    w.finish().unwrap();
    let source = Source::open(&path).unwrap();
    let s = source.select(&sel(&["y"])).unwrap();
    let err = source.read_all::<f64>(&s).unwrap_err().to_string();
    // Row 1500 (NaN) comes before row 2100 (null) in order.
    assert!(
        err.contains("n.parquet, row group 1, column 'y': row 1500 is NaN"),
        "{err}"
    );
    let err = source
        .scan::<f64, _, IoError>(
            &s,
            &ScanOptions::default(),
            || (),
            |_, c| {
                if c.first_row() >= 2000 {
                    c.check_finite()?;
                }
                Ok(())
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("n.parquet, row group 2, column 'x': row 2100 is null"),
        "{err}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn csv_sources_scan_like_parquet_and_formats_do_not_mix() {
    let d = dir("csv");
    let cols = columns(0, 3000);
    let mut text = String::from("a,b,note,y\n");
    for (i, ((a, b), y)) in cols[0].iter().zip(&cols[1]).zip(&cols[2]).enumerate() {
        text.push_str(&format!("{a},{b},n{i},{y}\n"));
    }
    std::fs::write(d.join("t.csv"), &text).unwrap();
    std::fs::write(d.join("t2.csv.zst"), zstd_bytes(text.as_bytes())).unwrap();
    let source = Source::open(&d.join("t*.csv*")).unwrap();
    assert_eq!(source.rows().unwrap(), None);
    let s = source.select(&sel(&["y"])).unwrap();
    assert_eq!(s.features(), ["a", "b"]);
    let t = source.read_all::<f32>(&s).unwrap();
    assert_eq!(t.data.len(), 6000);
    assert_eq!(t.data.y.values()[3000 + 17], cols[2][17]);
    let states = source
        .scan::<f32, _, IoError>(&s, &ScanOptions::default(), Vec::new, |st, c| {
            st.push((c.first_row(), c.rows()));
            Ok(())
        })
        .unwrap();
    assert_eq!(states.len(), 1);
    let mut next = 0;
    for &(first, rows) in &states[0] {
        assert_eq!(first, next);
        next += rows as u64;
    }
    assert_eq!(next, 6000);

    write(&d.join("p.parquet"), 0, 10, 10);
    let err = Source::open(&d).unwrap_err().to_string();
    assert!(err.contains("give files of one format"), "{err}");
    let err = Source::open(&d.join("nothing-*.parquet"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no file matches"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_unfinished_writer_leaves_the_old_file() {
    let d = dir("atomic");
    let path = d.join("keep.parquet");
    write(&path, 0, 10, 10);
    let before = std::fs::read(&path).unwrap();
    {
        let mut w = ParquetWriter::create(&path, &["a".into()], WriteOptions::default()).unwrap();
        w.write_columns::<f32>(&[&[1.0, 2.0]]).unwrap();
        // Dropped without finish: an interrupted write.
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(&d).unwrap().count(),
        1,
        "no temporary file left"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

fn zstd_bytes(b: &[u8]) -> Vec<u8> {
    zstd::encode_all(b, 1).unwrap()
}
