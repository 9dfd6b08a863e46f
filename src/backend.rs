//! Backend choice: one `cfg`-gated arm per Burn backend, each calling the one generic run.

use anyhow::{bail, Result};
use linreg_train::FusedAutodiffBackend;

use crate::cli::{BackendChoice, Cli, Command};
use crate::device::Placement;
use crate::{apply, generate, train, tutorial};

/// Runs the command on the chosen (or default) backend.
pub fn dispatch(cli: &Cli) -> Result<()> {
    // Generating a table needs no tensor, so no device either.
    if let Some(Command::Generate(args)) = &cli.command {
        return generate::run(args);
    }
    let choice = cli.backend.unwrap_or_else(BackendChoice::default_for_build);
    let f64_model = wants_f64(cli);
    match choice {
        #[cfg(feature = "ndarray")]
        BackendChoice::Ndarray => {
            use burn::backend::{ndarray::NdArrayDevice, Autodiff, NdArray};
            let device = NdArrayDevice::Cpu;
            let placement = Placement {
                backend: choice.name(),
                device: format!("{device:?}"),
            };
            if f64_model {
                run::<Autodiff<NdArray<f64>>>(cli, &device, &placement)
            } else {
                run::<Autodiff<NdArray>>(cli, &device, &placement)
            }
        }
        #[cfg(feature = "wgpu")]
        BackendChoice::Wgpu if f64_model => bail!(
            "an f64 model runs on the ndarray backend only (wgpu's shader language has no 64-bit \
             floats); add --backend ndarray"
        ),
        #[cfg(feature = "wgpu")]
        BackendChoice::Wgpu => {
            use burn::backend::{Autodiff, Wgpu};
            let (device, name) = crate::device::wgpu_device()?;
            let placement = Placement {
                backend: choice.name(),
                device: name,
            };
            run::<Autodiff<Wgpu>>(cli, &device, &placement)
        }
        #[cfg(feature = "cuda")]
        BackendChoice::Cuda => {
            use burn::backend::{cuda::CudaDevice, Autodiff, Cuda};
            let device = CudaDevice::default();
            let placement = Placement {
                backend: choice.name(),
                device: format!("{device:?}"),
            };
            run::<Autodiff<Cuda>>(cli, &device, &placement)
        }
        #[allow(unreachable_patterns)]
        other => bail!(
            "this linreg was built without the {0} backend; rebuild it with `--features {0}`",
            other.name()
        ),
    }
}

/// Whether the command trains (`--precision f64`) or applies (saved `precision`) an f64 model.
fn wants_f64(cli: &Cli) -> bool {
    match &cli.command {
        Some(Command::Train(args)) => args.precision == crate::cli::PrecisionArg::F64,
        Some(Command::Evaluate(args)) => linreg_store::saved_precision(&args.model) == "f64",
        Some(Command::Predict(args)) => linreg_store::saved_precision(&args.model) == "f64",
        _ => false,
    }
}

/// The one generic entry point: every command, on backend `B`.
fn run<B: FusedAutodiffBackend>(
    cli: &Cli,
    device: &B::Device,
    placement: &Placement,
) -> Result<()> {
    match &cli.command {
        None => tutorial::run::<B>(&cli.tutorial, device, placement),
        Some(Command::Train(args)) => train::run::<B>(args, device, placement),
        Some(Command::Evaluate(args)) => apply::evaluate::<B::InnerBackend>(args, device),
        Some(Command::Predict(args)) => apply::predict::<B::InnerBackend>(args, device),
        Some(Command::Generate(args)) => generate::run(args),
    }
}
