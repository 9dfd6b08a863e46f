//! Fitting, evaluating and predicting through `linreg-fit`, the library under the `linreg`
//! binary: what `linreg train`, `linreg evaluate` and `linreg predict` do, from a program.
//!
//! ```text
//! cargo run --example fit_library
//! ```

use std::path::Path;

use burn::backend::{Autodiff, NdArray};
use linreg_data::SyntheticSpec;
use linreg_fit::{ApplySpec, FitOptions, PredictSink, Solver, TableSpec};

type Train = Autodiff<NdArray>;
type Error = Box<dyn std::error::Error>;
/// Coefficients: `[target][feature]` weights and one bias per target.
type Coefficients = (Vec<Vec<f64>>, Vec<f64>);

fn main() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("linreg-fit-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let table = dir.join("table.csv");
    let truth = write_table(&table)?;
    let device = Default::default();

    // `linreg train --data table.csv --target y --solver exact`: least squares with its
    // inference table, every option checked once into a spec.
    let spec = FitOptions::new(&table, &["y"]).check()?;
    let fit = linreg_fit::fit::<Train>(&spec, &device, &mut ())?;
    let (weight, bias) = fit.original_units();
    println!(
        "exact: weight {weight:?}, bias {bias:?} (true {:?}, {:?})",
        truth.0, truth.1
    );
    for (w, t) in weight[0].iter().zip(&truth.0[0]) {
        assert!((w - t).abs() < 0.05, "{w} vs the true {t}");
    }
    let table_of_y = &fit.statistics.as_ref().expect("exact least squares").tables[0];
    for c in &table_of_y.coefficients {
        println!(
            "  {:>10} {:>10.5} ± {:.5} (p = {:.2e})",
            c.name, c.estimate, c.std_error, c.p_value
        );
    }
    assert!(table_of_y.r2 > 0.9, "R² {}", table_of_y.r2);

    // The same table by gradient descent (SGD on the standardized features), compared with
    // the exact optimum.
    let mut options = FitOptions::new(&table, &["y"]);
    options.solver = Solver::Gd {
        compare_exact: true,
    };
    options.train = options.train.with_epochs(300).with_lr(0.1);
    let gd = linreg_fit::fit::<Train>(&options.check()?, &device, &mut ())?;
    let gap = gd
        .exact
        .as_ref()
        .expect("compared")
        .gap
        .test
        .expect("a positive optimum");
    println!(
        "gradient descent: test loss {:.6}, {gap:+.2e} from the optimum",
        gd.trained.test_loss
    );
    assert!(gap.abs() < 1e-4, "{gap}");

    // Saved as `linreg train` saves it, then `linreg evaluate` and `linreg predict`.
    let model_dir = dir.join("model");
    std::fs::create_dir_all(&model_dir)?;
    linreg_store::save_model(&fit.trained.model, &fit.model_info(&spec), &model_dir)?;
    let apply = ApplySpec {
        model: model_dir,
        features: None,
        targets: None,
        table: TableSpec::new(&table),
        alpha: None,
    };
    let evaluation = linreg_fit::evaluate::<NdArray>(&apply, &device)?;
    println!(
        "evaluate: {} rows, R² {:.5}",
        evaluation.rows, evaluation.metrics.mean.r2
    );
    assert_eq!(evaluation.rows, 200);
    let output = dir.join("predictions.csv");
    let prediction =
        linreg_fit::predict::<NdArray>(&apply, &PredictSink::File(output.clone()), &device)?;
    let text = std::fs::read_to_string(&output)?;
    println!(
        "predict: {} rows with {} in {}",
        prediction.rows,
        prediction.names.join(", "),
        output.display()
    );
    assert!(text.lines().next().is_some_and(|h| h.ends_with(",y_pred")));
    assert_eq!(text.lines().count(), 201);
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// A 200-row table with two features and some noise; its true coefficients.
fn write_table(path: &Path) -> Result<Coefficients, Error> {
    let s = SyntheticSpec {
        rows: 200,
        features: 2,
        targets: 1,
        noise: 0.1,
        seed: 7,
    }
    .generate()?;
    let mut csv = Vec::new();
    s.write_csv(&mut csv)?;
    std::fs::write(path, csv)?;
    Ok((s.weight, s.bias))
}

#[test]
fn entry_point() {
    main().unwrap()
}
