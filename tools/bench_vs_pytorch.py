"""linreg against PyTorch on the same table, back to back, with the ratios.

What it runs, in one go (several rounds, alternating, so both see the same machine load):

1. linreg: `cargo bench --bench large_table` in quick mode on the table (CSV load, then full-batch
   and 1024-row mini-batch epochs of MSE + SGD, fused step and plain step, on burn-ndarray), and
   `cargo bench --bench train_loop` (the tutorial's 500-epoch loop).
2. PyTorch (CPU, 2 threads) on the same rows: the CSV read with pandas, the features standardized
   with the training rows' mean and population standard deviation, the first 80% of the rows
   training, nn.Linear(16, 1), MSELoss, SGD(lr=0.01): full-batch epochs, and epochs of 1024-row
   mini-batches from a fresh torch.randperm each epoch (X[idx], y[idx], the usual way without a
   DataLoader). Also the tutorial's 500-epoch L1 loop, and the memory floor: X_train.sum() (the
   time to read the training features once, 2 threads).
3. A table: linreg, PyTorch, ratio, and the target of issue 7 for each.

Run from the repository root (needs the project's venv with torch and pandas):

    /work/venv/bin/python tools/bench_vs_pytorch.py                    # 1,000,000 x 16
    /work/venv/bin/python tools/bench_vs_pytorch.py --rows 200000 --rounds 1

The table is written once with `linreg generate --rows N --features 16 --seed 0` into a temporary
directory (or pass --table FILE.csv with a target column `y`).
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_cargo(args, env):
    out = subprocess.run(["cargo", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"cargo {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    results = {}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, value = line.split()
            results[key] = float(value)
    return results, out.stdout


def linreg_round(table):
    env = dict(os.environ, LINREG_BENCH_TABLE=str(table), LINREG_BENCH_QUICK="1")
    big, text = run_cargo(["bench", "--bench", "large_table"], env)
    tutorial, text2 = run_cargo(["bench", "--bench", "train_loop"], dict(os.environ))
    return {**big, **tutorial}, text + text2


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def pytorch_round(table):
    torch.set_num_threads(2)
    frame = pd.read_csv(table)
    y = frame["y"].to_numpy(dtype=np.float32)[:, None]
    x = frame.drop(columns=["y"]).to_numpy(dtype=np.float32)
    n_train = int(0.8 * len(x))
    mean = x[:n_train].astype(np.float64).mean(axis=0)
    std = x[:n_train].astype(np.float64).std(axis=0)
    x = ((x - mean) / std).astype(np.float32)
    X = torch.from_numpy(np.ascontiguousarray(x[:n_train]))
    Y = torch.from_numpy(np.ascontiguousarray(y[:n_train]))
    model = torch.nn.Linear(X.shape[1], 1)
    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def full_epoch():
        opt.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        opt.step()
        loss.item()

    def batch_epoch():
        perm = torch.randperm(len(X))
        for i in range(0, len(X), 1024):
            idx = perm[i:i + 1024]
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
        loss.item()

    full_epoch()
    res = {
        "full_ms": median_time(full_epoch, 7),
        "batch1024_ms": median_time(batch_epoch, 3),
        "floor_ms": median_time(lambda: X.sum().item(), 11),
    }
    # The tutorial's loop (seed 42's start), as in tools/pytorch_reference.py.
    Xt = torch.arange(0, 1, 0.02).unsqueeze(1)
    yt = 0.8 * Xt + 0.2
    Xtr, ytr, Xte, yte = Xt[:40], yt[:40], Xt[40:], yt[40:]

    def tutorial():
        torch.manual_seed(42)
        m = torch.nn.Linear(1, 1)
        lf = torch.nn.L1Loss()
        o = torch.optim.SGD(m.parameters(), lr=0.01)
        for epoch in range(500):
            m.train()
            loss = lf(m(Xtr), ytr)
            o.zero_grad()
            loss.backward()
            o.step()
            if epoch % 50 == 0:
                m.eval()
                with torch.inference_mode():
                    lf(m(Xte), yte).item()
                    loss.item()

    tutorial()
    res["tutorial_ms"] = median_time(tutorial, 5)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--table", type=pathlib.Path)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table = args.table
        if table is None:
            table = pathlib.Path(tmp) / "big.csv"
            subprocess.run(
                ["cargo", "run", "--release", "--quiet", "--", "generate", "--rows", str(args.rows),
                 "--features", "16", "--seed", "0", "--output", str(table)],
                cwd=ROOT, check=True, capture_output=True)
        print(f"table: {table} ({table.stat().st_size / 1e6:.1f} MB); torch {torch.__version__}, "
              f"{torch.backends.cpu.get_cpu_capability()}, 2 threads; {os.cpu_count()} cores; "
              f"load average {os.getloadavg()[0]:.1f} (other processes share the cores)")
        for r in range(args.rounds):
            lin, text = linreg_round(table)
            py = pytorch_round(table)
            print(f"\nround {r + 1} (load average {os.getloadavg()[0]:.1f})")
            rows = [
                ("full-batch epoch, MSE + SGD (fused)", lin["fused_full_ms"], py["full_ms"], "≤ 0.4"),
                ("full-batch epoch (plain Burn graph)", lin["plain_full_ms"], py["full_ms"], ""),
                ("1024-row mini-batch epoch (fused)", lin["fused_batch1024_ms"], py["batch1024_ms"], "≤ 0.5"),
                ("1024-row mini-batch epoch (plain)", lin["plain_batch1024_ms"], py["batch1024_ms"], ""),
                ("tutorial 500-epoch loop, train() (fused)", lin["ndarray_fused_train_ms"], py["tutorial_ms"], "≤ 2.5 ms"),
                ("tutorial 500-epoch loop, train() (plain)", lin["ndarray_plain_train_ms"], py["tutorial_ms"], ""),
            ]
            print(f"  {'what':<44} {'linreg ms':>10} {'PyTorch ms':>11} {'ratio':>7}  target")
            for what, a, b, target in rows:
                print(f"  {what:<44} {a:>10.2f} {b:>11.2f} {a / b:>7.3f}  {target}")
            print(f"  memory floor: reading the training features once (torch X.sum(), 2 threads): "
                  f"{py['floor_ms']:.2f} ms; fused full-batch epoch / floor = "
                  f"{lin['fused_full_ms'] / py['floor_ms']:.2f} (target ≤ 1.5)")
            print(f"  CSV load (linreg read_table): {lin['load_s']:.3f} s")
            for line in text.splitlines():
                if line.startswith("fused kernel"):
                    print("  " + line)


if __name__ == "__main__":
    main()
