//! Reusing `linreg-model` from another Burn program: a 3-input, 2-output linear model trained
//! with Burn's own Adam optimizer and MSE loss, then saved and loaded with a Burn recorder.
//! It uses `linreg_model` and `burn` alone: no linreg data, training or plotting crates.
//!
//! ```text
//! cargo run --example reuse_model                      # CPU (ndarray)
//! cargo run --example reuse_model --features wgpu      # GPU (wgpu)
//! ```

use burn::module::{AutodiffModule, Module};
use burn::nn::loss::{MseLoss, Reduction};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use linreg_model::{LinearParams, LrModel, LrModelConfig};

/// The coefficients to recover, in PyTorch's `[out][in]` orientation.
fn truth() -> LinearParams {
    LinearParams {
        weight: vec![vec![2.0, -1.0, 0.5], vec![0.0, 3.0, -2.0]],
        bias: vec![1.0, -0.5],
    }
}

/// 64 rows of inputs on a small grid, and the exact outputs of `truth()`.
fn data<B: Backend>(device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let rows: Vec<[f32; 3]> = (0..64)
        .map(|i| {
            [
                (i % 4) as f32 / 3.0,
                ((i / 4) % 4) as f32 / 3.0,
                (i / 16) as f32 / 3.0,
            ]
        })
        .collect();
    let t = truth();
    let targets: Vec<[f32; 2]> = rows
        .iter()
        .map(|x| {
            let out = |o: usize| t.bias[o] + (0..3).map(|i| t.weight[o][i] * x[i]).sum::<f32>();
            [out(0), out(1)]
        })
        .collect();
    (
        Tensor::from_data(TensorData::new(rows.concat(), [64, 3]), device),
        Tensor::from_data(TensorData::new(targets.concat(), [64, 2]), device),
    )
}

/// Trains with Burn's own optimizer and returns the inference model.
fn fit<B: AutodiffBackend>(device: &B::Device) -> LrModel<B::InnerBackend> {
    B::seed(device, 0);
    let config = LrModelConfig::new().with_d_input(3).with_d_output(2);
    let mut model: LrModel<B> = config.init(device);
    let mut optim = AdamConfig::new().init();
    let (x, y) = data::<B>(device);
    for _ in 0..2000 {
        let loss = MseLoss::new().forward(model.forward(x.clone()), y.clone(), Reduction::Mean);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(0.05, model, grads);
    }
    model.valid()
}

fn run<B: AutodiffBackend>(device: &B::Device) -> Result<(), Box<dyn std::error::Error>> {
    let model = fit::<B>(device);
    let learned = model.params();
    println!("learned weight [out][in] = {:?}", learned.weight);
    println!("learned bias             = {:?}", learned.bias);
    let t = truth();
    let worst = learned
        .weight
        .iter()
        .flatten()
        .chain(&learned.bias)
        .zip(t.weight.iter().flatten().chain(&t.bias))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    println!("largest error against the true coefficients: {worst:e}");
    if worst > 1e-3 {
        return Err(format!("Adam did not recover the coefficients (error {worst})").into());
    }

    // Save and load with any Burn recorder; the config rebuilds the shape.
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = recorder.record(model.clone().into_record(), ())?;
    let record = Recorder::<B::InnerBackend>::load(&recorder, bytes, device)?;
    let loaded = model.config().init_with_record(record, device)?;
    if loaded.params() != learned {
        return Err("the reloaded model differs".into());
    }
    println!(
        "saved {}→{} model and loaded it back: identical",
        loaded.d_input(),
        loaded.d_output()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The GPU when this build has it, else the CPU: the same generic code either way.
    #[cfg(feature = "wgpu")]
    type B = burn::backend::Autodiff<burn::backend::Wgpu>;
    #[cfg(not(feature = "wgpu"))]
    type B = burn::backend::Autodiff<burn::backend::NdArray>;
    println!("backend: {}", std::any::type_name::<B>());
    run::<B>(&Default::default())
}

#[test]
fn entry_point() {
    main().expect("the reuse example runs");
}
