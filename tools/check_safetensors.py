#!/usr/bin/env python3
"""Checks that the `model.safetensors` linreg writes is what PyTorch reads (CI runs this).

    python3 tools/check_safetensors.py target/debug/linreg

Needs numpy and safetensors (torch optional). In a temporary directory it runs the linreg
binary given: the tutorial (one feature), and `generate` + `train` + `predict` on a table with
three features and two targets, standardized. For each run it reads `model.safetensors` with
`safetensors.numpy.load_file`, the format `safetensors.torch.load_file` reads, and checks:

- the keys are exactly `linear.weight` and `linear.bias`, float32, shaped [out, in] and [out],
  as `nn.Linear(in, out).state_dict()` holds them;
- the values equal, bit for bit, the final parameters `summary.json` reports;
- the predictions `x @ weight.T + bias` (features standardized with `model.json`'s statistics
  first, as linreg does) equal linreg's own, to the last bit (max |difference| 0).

With torch installed it also loads the file into the tutorial's `LrModel` with
`model.load_state_dict(safetensors.torch.load_file(...))` and compares its predictions the
same way. Exits non-zero with a message on the first difference.
"""
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file


def run(binary, cwd, *args):
    out = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"linreg {' '.join(args)} failed:\n{out.stderr}")


def read_columns(path, names):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[np.float32(r[n]) for n in names] for r in rows], dtype=np.float32)


def check(run_dir, data_csv, predictions_csv):
    meta = json.loads((run_dir / "model.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    tensors = load_file(str(run_dir / "model.safetensors"))
    features, targets = meta["features"], meta["targets"]
    if sorted(tensors) != ["linear.bias", "linear.weight"]:
        sys.exit(f"{run_dir}: keys {sorted(tensors)}")
    w, b = tensors["linear.weight"], tensors["linear.bias"]
    if w.dtype != np.float32 or b.dtype != np.float32:
        sys.exit(f"{run_dir}: dtypes {w.dtype}, {b.dtype}")
    if w.shape != (len(targets), len(features)) or b.shape != (len(targets),):
        sys.exit(f"{run_dir}: shapes {w.shape}, {b.shape}")
    final = summary["final"]
    if not (np.array_equal(w.astype(np.float64), np.array(final["weight"]))
            and np.array_equal(b.astype(np.float64), np.array(final["bias"]))):
        sys.exit(f"{run_dir}: safetensors {w.tolist()}, {b.tolist()} != summary.json {final}")

    x = read_columns(data_csv, features)
    st = meta.get("standardization")
    if st:
        # linreg: f32((f64(x) − mean) / scale)
        x = ((x.astype(np.float64) - np.array(st["mean"])) / np.array(st["scale"])).astype(np.float32)
    want = read_columns(predictions_csv, [t + "_pred" for t in targets])
    results = {"numpy": x @ w.T + b}
    try:
        import torch
        from safetensors.torch import load_file as torch_load_file

        class LrModel(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.linear = torch.nn.Linear(len(features), len(targets))

            def forward(self, x):
                return self.linear(x)

        model = LrModel()
        model.load_state_dict(torch_load_file(str(run_dir / "model.safetensors")))
        model.eval()
        with torch.inference_mode():
            results["torch"] = model(torch.from_numpy(x)).numpy()
    except ImportError:
        print("   (torch not installed: only numpy's predictions compared)")
    for name, got in results.items():
        diff = float(np.max(np.abs(got - want)))
        print(f"   {run_dir.name}: {len(want)} rows × {len(targets)} outputs, {name} vs linreg: max |difference| {diff}")
        if diff != 0.0:
            sys.exit(f"{run_dir}: {name}'s predictions differ from linreg's by up to {diff}")


def main(binary):
    binary = str(Path(binary).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The tutorial's model (one feature, named x) on 300 values of x.
        run(binary, tmp, "--backend", "ndarray", "--out", "tutorial")
        run(binary, tmp, "generate", "--rows", "300", "--features", "1", "--noise", "0",
            "--seed", "1", "--output", "line.csv")
        with open(tmp / "line.csv") as f, open(tmp / "xy.csv", "w") as g:
            next(f)
            g.write("x,y\n")
            g.writelines(f)
        run(binary, tmp, "predict", "--backend", "ndarray", "--model", "tutorial",
            "--data", "xy.csv", "--output", "tutorial_pred.csv")
        check(tmp / "tutorial", tmp / "xy.csv", tmp / "tutorial_pred.csv")

        run(binary, tmp, "generate", "--rows", "500", "--features", "3", "--targets", "2",
            "--seed", "7", "--output", "t.csv")
        run(binary, tmp, "train", "--backend", "ndarray", "--data", "t.csv", "--target", "y1,y2",
            "--epochs", "50", "--out", "multi", "--quiet")
        run(binary, tmp, "predict", "--backend", "ndarray", "--model", "multi", "--data", "t.csv",
            "--output", "multi_pred.csv")
        check(tmp / "multi", tmp / "t.csv", tmp / "multi_pred.csv")
    print("model.safetensors: read by Python's safetensors into nn.Linear's layout; predictions equal linreg's")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/debug/linreg")
