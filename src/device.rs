//! Where a run computes: the device in words, and opening the GPU adapter.

#[cfg(feature = "wgpu")]
use anyhow::{bail, Result};

/// What the run reports about where it trained.
pub struct Placement {
    /// `ndarray`, `wgpu` or `cuda`.
    pub backend: &'static str,
    /// The device in words (the GPU adapter's name on wgpu).
    pub device: String,
}

/// Opens the default GPU adapter, turning wgpu's panic when there is none into an error.
#[cfg(feature = "wgpu")]
pub fn wgpu_device() -> Result<(burn::backend::wgpu::WgpuDevice, String)> {
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
