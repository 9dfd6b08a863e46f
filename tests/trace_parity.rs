//! Step-for-step parity with PyTorch through the library: the parameters before every one of
//! the 500 steps equal PyTorch's trace, on every backend this build has. On ndarray the fused
//! step equals it to the last bit; Burn's plain graph, and the GPU (whose shader compilers may
//! fuse and reorder), within 1e-6.

mod common;

use burn::tensor::ElementConversion;
use common::{assert_close, reference};
use linreg_data::{LineSpec, Split};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_train::FusedAutodiffBackend;
use linreg_train::{TrainConfig, TrainStep, Trainer};

/// Within `tol`; with `tol = 0`, the same float32 (the fixture's numbers are float32 values, and
/// JSON parsing may land one f64 ulp away from them).
fn close(what: &str, got: f64, want: f64, tol: f64) {
    if tol == 0.0 {
        assert_eq!(
            (got as f32).to_bits(),
            (want as f32).to_bits(),
            "{what}: got {got}, PyTorch {want}"
        );
    } else {
        assert_close(what, got, want, tol);
    }
}

fn check_trace<B: FusedAutodiffBackend>(name: &str, device: &B::Device, step: TrainStep, tol: f64) {
    let r = reference();
    let data = LineSpec::default().generate().expect("data");
    // The inputs and targets are PyTorch's, bit for bit.
    for (col, key) in [
        (data.x.values(), "X_f32_bits"),
        (data.y.values(), "y_f32_bits"),
    ] {
        let bits: Vec<u64> = col.iter().map(|v| u64::from(v.to_bits())).collect();
        let want: Vec<u64> = r[key]
            .as_array()
            .expect("bits")
            .iter()
            .map(|v| v.as_u64().expect("u32"))
            .collect();
        assert_eq!(bits, want, "{key}");
    }
    let split = Split::ordered(data, 0.8).expect("split");
    let start = LinearParams {
        weight: vec![vec![r["init_w"].as_f64().expect("w") as f32]],
        bias: vec![r["init_b"].as_f64().expect("b") as f32],
    };
    let mut model = LrModelConfig::new()
        .init::<B>(device)
        .with_params(&start)
        .expect("params");
    let mut trainer = Trainer::new(
        &model,
        &split,
        &TrainConfig::new().with_train_step(step),
        device,
    )
    .expect("trainer");
    for step in r["trace"].as_array().expect("trace") {
        let epoch = step["epoch"].as_u64().expect("epoch");
        let p = model.params();
        let at = |what: &str| format!("{name}: {what} before epoch {epoch}");
        close(
            &at("w"),
            f64::from(p.weight[0][0]),
            step["w"].as_f64().expect("w"),
            tol,
        );
        close(
            &at("b"),
            f64::from(p.bias[0]),
            step["b"].as_f64().expect("b"),
            tol,
        );
        let (next, loss) = trainer.step(model);
        model = next;
        let loss: f64 = loss.into_scalar().elem();
        close(
            &at("train loss"),
            loss,
            step["train_loss"].as_f64().expect("loss"),
            tol,
        );
    }
    let p = model.params();
    close(
        "final w",
        f64::from(p.weight[0][0]),
        r["final_w"].as_f64().expect("w"),
        tol,
    );
    close(
        "final b",
        f64::from(p.bias[0]),
        r["final_b"].as_f64().expect("b"),
        tol,
    );
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_follows_pytorch_step_for_step() {
    type B = burn::backend::Autodiff<burn::backend::NdArray>;
    check_trace::<B>("ndarray fused", &Default::default(), TrainStep::Fused, 0.0);
    check_trace::<B>("ndarray plain", &Default::default(), TrainStep::Plain, 1e-6);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_follows_pytorch_step_for_step() {
    type B = burn::backend::Autodiff<burn::backend::Wgpu>;
    check_trace::<B>("wgpu fused", &Default::default(), TrainStep::Fused, 1e-6);
    check_trace::<B>("wgpu plain", &Default::default(), TrainStep::Plain, 1e-6);
}
