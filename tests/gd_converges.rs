//! Property: on random well-conditioned problems, gradient descent run long enough converges to
//! the exact least-squares solution.

#![cfg(feature = "ndarray")]

use burn::backend::{Autodiff, NdArray};
use linreg_data::{Dataset, Matrix, Split};
use linreg_model::LrModelConfig;
use linreg_solve::{least_squares, View};
use linreg_train::{train, LossKind, TrainConfig};
use proptest::prelude::*;

type B = Autodiff<NdArray>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn gradient_descent_converges_to_the_exact_solution(
        seed in any::<u64>(),
        rows in 40usize..160,
        cols in 1usize..4,
        coef in proptest::collection::vec(-3.0f64..3.0, 4),
    ) {
        // Features uniform in [−1, 1]: the normal matrix is well conditioned.
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let x: Vec<f32> = (0..rows * cols).map(|_| (next() * 2.0 - 1.0) as f32).collect();
        let y: Vec<f32> = (0..rows)
            .map(|i| {
                let clean: f64 = (0..cols).map(|j| coef[j] * f64::from(x[i * cols + j])).sum::<f64>() + coef[3];
                (clean + (next() - 0.5) * 0.2) as f32
            })
            .collect();
        let exact = least_squares(View::new(rows, cols, &x).unwrap(), View::new(rows, 1, &y).unwrap(), 0.0).unwrap();

        let data = Dataset::new(Matrix::new(rows, cols, x).unwrap(), Matrix::column(y)).unwrap();
        let split = Split { train: data.clone(), test: data };
        let config = TrainConfig::new().with_loss(LossKind::Mse).with_lr(0.3).with_epochs(1000).with_log_every(1000);
        let model = LrModelConfig::new().with_d_input(cols).init::<B>(&Default::default());
        let trained = train(model, &split, &config, &Default::default(), &mut ()).unwrap();
        let p = trained.model.params();
        for j in 0..cols {
            prop_assert!((f64::from(p.weight[0][j]) - exact.weight[0][j]).abs() < 1e-4,
                "w{j}: GD {} vs exact {}", p.weight[0][j], exact.weight[0][j]);
        }
        prop_assert!((f64::from(p.bias[0]) - exact.bias[0]).abs() < 1e-4);
    }
}
