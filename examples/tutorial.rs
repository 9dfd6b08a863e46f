//! The PyTorch "Linear Models" tutorial, section by section, with the linreg crates.
//!
//! ```text
//! cargo run --example tutorial
//! ```
//!
//! Each section below names the tutorial's section and its PyTorch lines. The figures and the
//! model go to a `linreg-tutorial-example` folder in the system's temporary directory.

use std::path::PathBuf;

use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::Tensor;
use linreg_data::{LineSpec, Split};
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_train::{to_tensor, train, LogEntry, TrainConfig};

/// The CPU backend, with automatic differentiation for training.
type B = Autodiff<NdArray>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Default::default();
    let out = std::env::temp_dir().join("linreg-tutorial-example");
    std::fs::create_dir_all(&out)?;

    // 1. Getting the data
    //    weight = 0.8; bias = 0.2; X = torch.arange(0, 1, 0.02).unsqueeze(1); y = weight * X + bias
    let data = LineSpec {
        weight: 0.8,
        bias: 0.2,
        step: 0.02,
    }
    .generate()?;
    println!("1. {} points on y = 0.8x + 0.2", data.len());

    // 2. Training and test data
    //    train_split = int(0.8 * len(X)); X_train, y_train = X[:train_split], y[:train_split]; …
    let split = Split::ordered(data, 0.8)?;
    println!(
        "2. {} training and {} test rows",
        split.train.len(),
        split.test.len()
    );
    //    plot_predictions(X_train, y_train, X_test, y_test)
    let train_xy = (split.train.x.values(), split.train.y.values());
    let test_xy = (split.test.x.values(), split.test.y.values());
    linreg_plot::plot_predictions(&out.join("data.png"), train_xy, test_xy, None)?;

    //    model = LrModel(); print(model.state_dict())
    //    Started from PyTorch's seed-42 draw so the numbers below are the tutorial's.
    let start = LinearParams {
        weight: vec![vec![0.764_538_5]],
        bias: vec![0.830_007_9],
    };
    let model: LrModel<B> = LrModelConfig::new().init(&device).with_params(&start)?;
    println!("   initial parameters: {:?}", model.params());

    // 3. Training the model
    //    loss_fn = nn.L1Loss(); optimizer = torch.optim.SGD(model.parameters(), lr=0.01); 500 epochs
    let config = TrainConfig::new(); // L1, lr 0.01, 500 epochs, log every 50
    let trained = train(model, &split, &config, &device, &mut |e: &LogEntry| {
        println!(
            "Epoch {}: Train Loss = {}, Test Loss = {}",
            e.epoch, e.train_loss, e.test_loss
        );
    })?;
    //    plot_epoch_losses(epoch_vals, train_loss_vals, test_loss_vals)
    let epochs: Vec<usize> = trained.history.iter().map(|e| e.epoch).collect();
    let train_losses: Vec<f64> = trained.history.iter().map(|e| e.train_loss).collect();
    let test_losses: Vec<f64> = trained.history.iter().map(|e| e.test_loss).collect();
    linreg_plot::plot_epoch_losses(&out.join("loss.png"), &epochs, &train_losses, &test_losses)?;

    //    model.eval(); with torch.inference_mode(): y_preds = model(X_test)
    //    `trained.model` is already the inference model (Burn's `valid()`).
    let y_preds: Vec<f32> = trained
        .model
        .forward(to_tensor(&split.test.x, &device))
        .into_data()
        .to_vec()?;
    //    plot_predictions(X_train, y_train, X_test, y_test, y_preds)
    linreg_plot::plot_predictions(
        &out.join("predictions.png"),
        train_xy,
        test_xy,
        Some(&y_preds),
    )?;
    println!("3. final parameters: {:?}", trained.model.params());

    // 4. Saving models
    //    torch.save(model.state_dict(), "lr_model.pth")
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    let path: PathBuf = out.join("lr_model");
    trained.model.clone().save_file(&path, &recorder)?; // writes lr_model.mpk
                                                        //    loaded_model = LrModel(); loaded_model.load_state_dict(torch.load("lr_model.pth"))
    let loaded: LrModel<NdArray> = LrModelConfig::new()
        .init(&device)
        .load_file(&path, &recorder, &device)?;
    let x: Tensor<NdArray, 2> = to_tensor(&split.test.x, &device);
    let again: Vec<f32> = loaded.forward(x).into_data().to_vec()?;
    assert_eq!(
        again, y_preds,
        "the loaded model predicts exactly as the trained one"
    );
    println!(
        "4. saved and reloaded {}.mpk; figures in {}",
        path.display(),
        out.display()
    );
    Ok(())
}

#[test]
fn entry_point() {
    main().expect("the tutorial example runs");
}
