//! CubeCL backends (wgpu, cuda): a kernel that reduces on the device.
