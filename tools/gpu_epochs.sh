#!/usr/bin/env bash
# Epoch times on a GPU: builds linreg's gpu_epochs bench with the wgpu and cuda backends and
# prints MSE + SGD epoch times for 1,000,000 × 16 and 10,000,000 × 16 tables (80% training
# rows), full batch and in 1024-row batches, fused and plain steps, with the card's name.
#
#   tools/gpu_epochs.sh                    # both backends, both sizes
#   BACKENDS=wgpu ROWS=1000000 tools/gpu_epochs.sh
#
# Needs a Vulkan driver for wgpu and the NVIDIA driver for cuda (the CUDA toolkit is optional:
# cudarc loads the driver at run time; without nvcc the bindings' version comes from
# CUDARC_CUDA_VERSION, 12080 by default here).
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${BACKENDS:-wgpu,cuda}"
ROWS="${ROWS:-1000000,10000000}"
if ! command -v nvcc >/dev/null 2>&1; then
  export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-12080}"
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "nvidia-smi not found: the cuda backend will not find a device"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
LINREG_GPU_ROWS="$ROWS" cargo bench --bench gpu_epochs --no-default-features --features "$BACKENDS"
