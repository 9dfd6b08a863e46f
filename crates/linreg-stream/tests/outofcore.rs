//! Out-of-core fits against the same fits in memory.

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use linreg_data::{Dataset, Split, SyntheticSpec};
use linreg_io::{ParquetWriter, ScanOptions, Selection, Source, WriteOptions};
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_solve::{LeastSquares, Method, View};
use linreg_stream::{
    evaluate_streamed, moments_pass, standardize, standardizer, train_streamed, MemoryBudget, Part,
    RowSplit, Rows, StreamPlan,
};
use linreg_train::{LossKind, Metrics, OptimizerKind, TrainConfig};

type B = Autodiff<NdArray>;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("linreg-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A synthetic table (`p` features, `k` targets, a positive weight column `w`) in memory and
/// as Parquet with row groups of `group` rows.
fn table(path: &Path, rows: usize, p: usize, k: usize, group: usize) -> (Dataset, Vec<f32>) {
    let s = SyntheticSpec {
        rows,
        features: p,
        targets: k,
        noise: 0.5,
        seed: 11,
    }
    .generate()
    .unwrap();
    let w: Vec<f32> = (0..rows).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
    let mut names = s.feature_names.clone();
    names.extend(s.target_names.clone());
    names.push("w".into());
    let mut cols: Vec<Vec<f32>> = (0..p).map(|j| s.data.x.column_values(j)).collect();
    cols.extend((0..k).map(|t| s.data.y.column_values(t)));
    cols.push(w.clone());
    let options = WriteOptions {
        row_group_rows: group,
        ..Default::default()
    };
    let mut writer = ParquetWriter::create(path, &names, options).unwrap();
    let refs: Vec<&[f32]> = cols.iter().map(|c| &c[..]).collect();
    writer.write_columns(&refs).unwrap();
    writer.finish().unwrap();
    (s.data, w)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn small_units() -> ScanOptions {
    ScanOptions {
        threads: 2,
        batch_rows: 700,
        unit_rows: 1500,
        read_ahead: 0,
    }
}

#[test]
fn exact_least_squares_from_one_pass_equals_qr_in_memory() {
    let d = dir("exact");
    let path = d.join("t.parquet");
    let (data, w) = table(&path, 20_000, 4, 2, 3000);
    let source = Source::open(&path).unwrap();
    let selected = source
        .select(&Selection::new(
            vec!["y1".into(), "y2".into()],
            Some((1..=4).map(|i| format!("x{i}")).collect()),
            None,
        ))
        .unwrap();
    let train_rows = 16_000;
    for (split, train_idx) in [
        (RowSplit::All, (0..20_000).collect::<Vec<usize>>()),
        (RowSplit::Ordered { train_rows }, (0..16_000).collect()),
        (
            RowSplit::Hashed {
                fraction: 0.7,
                seed: 5,
            },
            (0..20_000)
                .filter(|&i| {
                    RowSplit::Hashed {
                        fraction: 0.7,
                        seed: 5,
                    }
                    .trains(i as u64)
                })
                .collect(),
        ),
    ] {
        let part = Part::new(&source, &selected, split);
        let pass = moments_pass(&part, &small_units()).unwrap();
        let sub_x = data.x.select_rows(&train_idx);
        let sub_y = data.y.select_rows(&train_idx);
        assert_eq!(pass.train.plain.rows(), train_idx.len() as u64);
        assert_eq!(pass.train.plain.rows() + pass.test.plain.rows(), 20_000);
        let x64: Vec<f64> = sub_x.values().iter().map(|&v| f64::from(v)).collect();
        let y64: Vec<f64> = sub_y.values().iter().map(|&v| f64::from(v)).collect();
        let qr = LeastSquares {
            method: Method::Qr,
            ..Default::default()
        }
        .fit(
            View::new(train_idx.len(), 4, &x64).unwrap(),
            View::new(train_idx.len(), 2, &y64).unwrap(),
        )
        .unwrap();
        let streamed = pass.train.weighted.least_squares(true, 0.0).unwrap();
        for (a, b) in streamed
            .fit
            .weight
            .iter()
            .flatten()
            .chain(&streamed.fit.bias)
            .zip(qr.fit.weight.iter().flatten().chain(&qr.fit.bias))
        {
            assert!(rel(*a, *b) < 1e-12, "{split:?}: {a} {b}");
        }
        // The statistics too (standard errors from the same covariance).
        let (s1, s2) = (streamed.stats.unwrap(), qr.stats.unwrap());
        for (a, b) in s1.cov_unscaled.iter().zip(&s2.cov_unscaled) {
            assert!(rel(*a, *b) < 1e-9, "{a} {b}");
        }
    }

    // Weighted least squares: the weight column rides along.
    let selected = source
        .select(&Selection::new(
            vec!["y1".into()],
            Some((1..=4).map(|i| format!("x{i}")).collect()),
            Some("w".into()),
        ))
        .unwrap();
    let pass = moments_pass(
        &Part::new(&source, &selected, RowSplit::All),
        &small_units(),
    )
    .unwrap();
    let x64: Vec<f64> = data.x.values().iter().map(|&v| f64::from(v)).collect();
    let y64: Vec<f64> = data
        .y
        .column_values(0)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
    let wls = LeastSquares {
        weights: Some(&w64),
        method: Method::Qr,
        ..Default::default()
    }
    .fit(
        View::new(20_000, 4, &x64).unwrap(),
        View::new(20_000, 1, &y64).unwrap(),
    )
    .unwrap();
    let streamed = pass.train.weighted.least_squares(true, 0.0).unwrap();
    for (a, b) in streamed.fit.weight[0].iter().zip(&wls.fit.weight[0]) {
        assert!(rel(*a, *b) < 1e-12, "{a} {b}");
    }
    assert_eq!(pass.train.plain.weight_sum(), 20_000.0);
    std::fs::remove_dir_all(&d).unwrap();
}

fn start(p: usize, k: usize) -> LrModel<B> {
    let params = LinearParams {
        weight: (0..k)
            .map(|t| (0..p).map(|j| 0.1 * (j as f32 - t as f32)).collect())
            .collect(),
        bias: vec![0.0; k],
    };
    LrModelConfig::new()
        .with_d_input(p)
        .with_d_output(k)
        .init::<B>(&Default::default())
        .with_params(&params)
        .unwrap()
}

/// The plan for the ordered 80/20 split of `source`, standardized.
fn plan<'a>(
    source: &'a Source,
    selected: &'a linreg_io::Selected,
    buffer_rows: usize,
) -> StreamPlan<'a> {
    let rows = source.rows().unwrap().unwrap();
    let part = Part::new(
        source,
        selected,
        RowSplit::Ordered {
            train_rows: rows * 8 / 10,
        },
    );
    let pass = moments_pass(&part, &small_units()).unwrap();
    let s = standardizer(&pass.train.plain, selected.features()).unwrap();
    StreamPlan {
        train: part,
        test: Some((part, Rows::Test)),
        train_moments: standardize(&pass.train.plain, &s).unwrap(),
        test_moments: Some(standardize(&pass.test.plain, &s).unwrap()),
        standardizer: Some(s),
        buffer_rows,
        options: small_units(),
    }
}

#[test]
fn full_batch_l1_streamed_takes_the_steps_it_takes_in_memory() {
    let d = dir("l1");
    let path = d.join("t.parquet");
    let (data, _) = table(&path, 5000, 3, 1, 900);
    let source = Source::open(&path).unwrap();
    let selected = source
        .select(&Selection::new(
            vec!["y".into()],
            Some(vec!["x1".into(), "x2".into(), "x3".into()]),
            None,
        ))
        .unwrap();
    let plan = plan(&source, &selected, MemoryBudget::DEFAULT.buffer_rows(32, 1));
    let config = TrainConfig::new()
        .with_loss(LossKind::Huber { delta: 1.0 })
        .with_lr(0.05)
        .with_epochs(30)
        .with_log_every(10);
    let device = Default::default();
    let streamed = train_streamed(start(3, 1), &plan, &config, &device, &mut ()).unwrap();

    let mut split = Split::ordered(data, 0.8).unwrap();
    let s = plan.standardizer.clone().unwrap();
    s.apply(&mut split.train.x);
    s.apply(&mut split.test.x);
    let memory = linreg_train::train(start(3, 1), &split, &config, &device, &mut ()).unwrap();
    let (a, b) = (
        streamed.model.params_as::<f64>(),
        memory.model.params_as::<f64>(),
    );
    for (u, v) in a.weight[0]
        .iter()
        .chain(&a.bias)
        .zip(b.weight[0].iter().chain(&b.bias))
    {
        assert!((u - v).abs() < 1e-4 * v.abs().max(1.0), "{u} {v}");
    }
    for (h, g) in streamed.history.iter().zip(&memory.history) {
        assert!(rel(h.train_loss, g.train_loss) < 1e-4, "{h:?} {g:?}");
        assert!(rel(h.test_loss, g.test_loss) < 1e-4, "{h:?} {g:?}");
        assert!(rel(h.test.r2, g.test.r2) < 1e-4, "{h:?} {g:?}");
    }
    // Final scores from the streamed evaluation pass, MAE included.
    for (m, n) in [
        (&streamed.train_metrics, &memory.train_metrics),
        (&streamed.test_metrics, &memory.test_metrics),
    ] {
        assert!(
            rel(m.mean.mae, n.mean.mae) < 1e-4 && rel(m.mean.mse, n.mean.mse) < 1e-4,
            "{m:?} {n:?}"
        );
    }
    assert!(rel(streamed.test_loss, memory.test_loss) < 1e-4);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn streamed_mini_batches_converge_reproducibly_in_a_small_buffer() {
    let d = dir("sgd");
    let path = d.join("t.parquet");
    let (_, _) = table(&path, 30_000, 4, 1, 2000);
    let source = Source::open(&path).unwrap();
    let selected = source
        .select(&Selection::new(
            vec!["y".into()],
            Some((1..=4).map(|i| format!("x{i}")).collect()),
            None,
        ))
        .unwrap();
    // A buffer of 3,000 rows: a tenth of the training rows, two row groups.
    let plan = plan(&source, &selected, 3000);
    let config = TrainConfig::new()
        .with_loss(LossKind::Mse)
        .with_optimizer(OptimizerKind::Adam)
        .with_lr(0.05)
        .with_epochs(8)
        .with_log_every(4)
        .with_batch_size(Some(256))
        .with_seed(3);
    let device = Default::default();
    let a = train_streamed(start(4, 1), &plan, &config, &device, &mut ()).unwrap();
    let b = train_streamed(start(4, 1), &plan, &config, &device, &mut ()).unwrap();
    assert_eq!(a.model.params(), b.model.params(), "same seed, same run");
    let c = train_streamed(
        start(4, 1),
        &plan,
        &config.clone().with_seed(4),
        &device,
        &mut (),
    )
    .unwrap();
    assert_ne!(
        a.model.params(),
        c.model.params(),
        "another seed, another order"
    );
    // Near the exact optimum of the standardized problem.
    let exact = plan.train_moments.least_squares(true, 0.0).unwrap();
    let got = a.model.params_as::<f64>();
    for (u, v) in got.weight[0].iter().zip(&exact.fit.weight[0]) {
        assert!((u - v).abs() < 0.05 * v.abs().max(1.0), "{u} {v}");
    }
    assert!(a.train_metrics.mean.r2 > 0.99 * exact_r2(&plan, &exact));
    assert_eq!(
        a.history.iter().map(|h| h.epoch).collect::<Vec<_>>(),
        [0, 4]
    );
    std::fs::remove_dir_all(&d).unwrap();
}

fn exact_r2(plan: &StreamPlan<'_>, s: &linreg_solve::Solution) -> f64 {
    linreg_stream::scores(&plan.train_moments, &s.fit.weight, &s.fit.bias)
        .mean
        .r2
}

#[test]
fn streamed_evaluation_scores_like_the_rows_in_memory() {
    let d = dir("eval");
    let path = d.join("t.parquet");
    let (data, _) = table(&path, 7000, 3, 2, 1000);
    let source = Source::open(&path).unwrap();
    let selected = source
        .select(&Selection::new(
            vec!["y1".into(), "y2".into()],
            Some(vec!["x1".into(), "x2".into(), "x3".into()]),
            None,
        ))
        .unwrap();
    let (w, b) = (
        vec![vec![0.5, -1.0, 2.0], vec![1.0, 0.0, -0.5]],
        vec![0.25, -1.5],
    );
    let part = Part::new(&source, &selected, RowSplit::All);
    let (m, loss) = evaluate_streamed(
        &part,
        Rows::Train,
        None,
        &w,
        &b,
        LossKind::L1,
        &small_units(),
    )
    .unwrap();
    let pred: Vec<f32> = (0..7000)
        .flat_map(|r| {
            let x = data.x.row(r);
            (0..2)
                .map(|t| {
                    (w[t]
                        .iter()
                        .zip(x)
                        .map(|(w, &x)| w * f64::from(x))
                        .sum::<f64>()
                        + b[t]) as f32
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let want = Metrics::compute(&pred, &data.y);
    for (g, e) in m.per_target.iter().zip(&want.per_target) {
        assert!(
            rel(g.mae, e.mae) < 1e-6 && rel(g.mse, e.mse) < 1e-6 && (g.r2 - e.r2).abs() < 1e-6,
            "{g:?} {e:?}"
        );
    }
    assert!(rel(loss, want.mean.mae) < 1e-6);
    std::fs::remove_dir_all(&d).unwrap();
}
