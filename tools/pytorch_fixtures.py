#!/usr/bin/env python3
"""Writes the PyTorch files linreg's interop tests read (tests/fixtures/pytorch/).

    /path/to/python tools/pytorch_fixtures.py tests/fixtures/pytorch

Needs torch and safetensors. Every file holds fixed numbers (no random draw), so running it
again writes files with the same tensors. What each file is:

- linear_3x2.pth / .safetensors: the state_dict of an `LrModel` (one `nn.Linear(3, 2)` named
  `linear`) with weight [[0.5, -1.25, 2.0], [0.125, 3.0, -0.75]] and bias [0.25, -0.5]: a
  non-square layer, so a weight loaded without its [out, in] → [in, out] transpose cannot pass.
- linear_3x2_f64.pth: the same numbers in float64 (linreg rounds them to float32, as
  `load_state_dict` does into a float32 model).
- no_bias.pth: `nn.Linear(3, 2, bias=False)`: only `linear.weight`.
- extra_key.pth, renamed.pth: a state_dict with one tensor too many, and one whose keys are
  `fc.weight` / `fc.bias`.
- checkpoint.pth: a training checkpoint `{"epoch": 3, "model_state_dict": ...}`, not a
  state_dict.
- whole_model.pth: `torch.save(model)`, a pickled module rather than a state_dict.
- int_weight.pth: `linear.weight` as an int64 tensor.
- nan_weight.safetensors: a weight holding NaN.
- vector_weight.safetensors: `linear.weight` of rank 1.
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file


class LrModel(torch.nn.Module):
    """The tutorial's model class, with any shape."""

    def __init__(self, d_in=1, d_out=1, bias=True):
        super().__init__()
        self.linear = torch.nn.Linear(d_in, d_out, bias=bias)

    def forward(self, x):
        return self.linear(x)


WEIGHT = [[0.5, -1.25, 2.0], [0.125, 3.0, -0.75]]
BIAS = [0.25, -0.5]


def model(bias=True):
    m = LrModel(3, 2, bias=bias)
    with torch.no_grad():
        m.linear.weight.copy_(torch.tensor(WEIGHT))
        if bias:
            m.linear.bias.copy_(torch.tensor(BIAS))
    return m


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sd = model().state_dict()
    torch.save(sd, out / "linear_3x2.pth")
    save_file({k: v.contiguous() for k, v in sd.items()}, out / "linear_3x2.safetensors")
    torch.save({k: v.double() for k, v in sd.items()}, out / "linear_3x2_f64.pth")
    torch.save(model(bias=False).state_dict(), out / "no_bias.pth")
    torch.save({**sd, "scale": torch.ones(1)}, out / "extra_key.pth")
    torch.save({"fc.weight": sd["linear.weight"], "fc.bias": sd["linear.bias"]}, out / "renamed.pth")
    torch.save({"epoch": 3, "model_state_dict": sd}, out / "checkpoint.pth")
    torch.save(model(), out / "whole_model.pth")
    torch.save({"linear.weight": torch.tensor(WEIGHT).long(), "linear.bias": sd["linear.bias"]},
               out / "int_weight.pth")
    nan = sd["linear.weight"].clone()
    nan[1, 2] = float("nan")
    save_file({"linear.weight": nan, "linear.bias": sd["linear.bias"]}, out / "nan_weight.safetensors")
    save_file({"linear.weight": torch.ones(3), "linear.bias": sd["linear.bias"]},
              out / "vector_weight.safetensors")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/pytorch")
