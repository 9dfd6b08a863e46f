//! Step-for-step parity with PyTorch through the library: the parameters before every one of
//! the 500 steps equal PyTorch's trace, on every backend this build has.

mod common;

use burn::tensor::ElementConversion;
use common::{assert_close, reference};
use linreg_data::{LineSpec, Split};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_train::FusedAutodiffBackend;
use linreg_train::{TrainConfig, Trainer};

fn check_trace<B: FusedAutodiffBackend>(name: &str, device: &B::Device) {
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
    let mut trainer = Trainer::new(&model, &split, &TrainConfig::new(), device).expect("trainer");
    for step in r["trace"].as_array().expect("trace") {
        let epoch = step["epoch"].as_u64().expect("epoch");
        let p = model.params();
        let at = |what: &str| format!("{name}: {what} before epoch {epoch}");
        assert_close(
            &at("w"),
            f64::from(p.weight[0][0]),
            step["w"].as_f64().expect("w"),
            1e-6,
        );
        assert_close(
            &at("b"),
            f64::from(p.bias[0]),
            step["b"].as_f64().expect("b"),
            1e-6,
        );
        let (next, loss) = trainer.step(model);
        model = next;
        let loss: f64 = loss.into_scalar().elem();
        assert_close(
            &at("train loss"),
            loss,
            step["train_loss"].as_f64().expect("loss"),
            1e-6,
        );
    }
    let p = model.params();
    assert_close(
        "final w",
        f64::from(p.weight[0][0]),
        r["final_w"].as_f64().expect("w"),
        1e-6,
    );
    assert_close(
        "final b",
        f64::from(p.bias[0]),
        r["final_b"].as_f64().expect("b"),
        1e-6,
    );
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_follows_pytorch_step_for_step() {
    check_trace::<burn::backend::Autodiff<burn::backend::NdArray>>("ndarray", &Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_follows_pytorch_step_for_step() {
    check_trace::<burn::backend::Autodiff<burn::backend::Wgpu>>("wgpu", &Default::default());
}
