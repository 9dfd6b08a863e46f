//! Backend choice: one `cfg`-gated arm per Burn backend, each calling the one generic run.

use anyhow::{bail, Result};

use crate::cli::{Args, BackendChoice};
use crate::tutorial;

/// What the run reports about where it trained.
pub struct Placement {
    /// `ndarray` or `wgpu`.
    pub backend: &'static str,
    /// The device in words (the GPU adapter's name on wgpu).
    pub device: String,
}

/// Runs the tutorial on the chosen (or default) backend.
pub fn dispatch(args: &Args) -> Result<()> {
    let choice = args
        .backend
        .unwrap_or_else(BackendChoice::default_for_build);
    match choice {
        #[cfg(feature = "ndarray")]
        BackendChoice::Ndarray => {
            use burn::backend::{ndarray::NdArrayDevice, Autodiff, NdArray};
            let device = NdArrayDevice::Cpu;
            let placement = Placement {
                backend: choice.name(),
                device: format!("{device:?}"),
            };
            tutorial::run::<Autodiff<NdArray>>(args, &device, &placement)
        }
        #[cfg(feature = "wgpu")]
        BackendChoice::Wgpu => {
            use burn::backend::{Autodiff, Wgpu};
            let (device, name) = wgpu_device()?;
            let placement = Placement {
                backend: choice.name(),
                device: name,
            };
            tutorial::run::<Autodiff<Wgpu>>(args, &device, &placement)
        }
        #[allow(unreachable_patterns)]
        other => bail!(
            "this linreg was built without the {0} backend; rebuild it with `--features {0}`",
            other.name()
        ),
    }
}

/// Opens the default GPU adapter, turning wgpu's panic when there is none into an error.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<(burn::backend::wgpu::WgpuDevice, String)> {
    use burn::backend::wgpu::{graphics::AutoGraphicsApi, init_setup, RuntimeOptions, WgpuDevice};

    let device = WgpuDevice::default();
    // wgpu reports a missing adapter by panicking; keep its trace off the user's terminal.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let setup = std::panic::catch_unwind(|| {
        init_setup::<AutoGraphicsApi>(&device, RuntimeOptions::default())
    });
    std::panic::set_hook(hook);
    match setup {
        Ok(setup) => {
            let info = setup.adapter.get_info();
            Ok((device, format!("{} ({:?})", info.name, info.backend)))
        }
        Err(_) => bail!(
            "no GPU adapter found for the wgpu backend; install a Vulkan driver \
             (on Debian/Ubuntu: `apt-get install mesa-vulkan-drivers libvulkan1`) \
             or run on the CPU with `--backend ndarray` (build with `--features ndarray`)"
        ),
    }
}
