#!/usr/bin/env python3
"""Run two linreg binaries on the same tables and options and compare what they write.

Used to show that a refactor changed no output: for each case both binaries run in their own
folder with the same relative paths; `summary.json` and `model.json` are compared with every
`seconds` field removed, predictions and `model.safetensors` byte for byte (`model.mpk` holds
Burn's random parameter ids, so it differs between any two runs), and the console output with
the lines that report a time removed (and, for a refusal, its message on stderr).

    python3 tools/compare_outputs.py OLD_BINARY NEW_BINARY [--work DIR] [--rel 1e-13]

The streamed mini-batch fit's final scores can differ in the last digit between two runs of the
same binary (the summation order of the moments follows the buffers' alignment), so `--rel`
accepts numbers that close.

Needs only the Python standard library. Exits non-zero when anything differs.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Each case: a name and the arguments (tables are made by `generate` first, in each folder).
CASES = [
    ("exact", ["train", "--data", "d.csv", "--target", "y1,y2", "--solver", "exact", "--out", "m-exact"]),
    ("exact-hc3", ["train", "--data", "w.csv", "--target", "y", "--solver", "exact", "--robust", "hc3",
                   "--out", "m-hc3"]),
    ("bad-weights", ["train", "--data", "w.csv", "--target", "y", "--features", "x1,x2,x3", "--weights", "x4",
                     "--solver", "exact", "--out", "m-wls"]),
    ("ridge", ["train", "--data", "d.csv", "--target", "y1", "--solver", "exact", "--l2", "0.5",
               "--out", "m-ridge"]),
    ("polynomial", ["train", "--data", "d.csv", "--target", "y1", "--features", "x1", "--polynomial", "3",
                    "--solver", "exact", "--out", "m-poly"]),
    ("no-intercept", ["train", "--data", "d.csv", "--target", "y1", "--no-intercept", "--solver", "exact",
                      "--out", "m-noint"]),
    ("l1-exact", ["train", "--data", "d.csv", "--target", "y1", "--loss", "l1", "--solver", "exact",
                  "--out", "m-l1"]),
    ("gd-adam-batches", ["train", "--data", "d.csv", "--target", "y1,y2", "--optimizer", "adam", "--lr", "0.05",
                         "--batch-size", "64", "--epochs", "30", "--log-every", "5", "--shuffle", "--seed", "3",
                         "--out", "m-adam"]),
    ("gd-huber-patience", ["train", "--data", "d.csv", "--target", "y1", "--loss", "huber", "--epochs", "80",
                           "--patience", "5", "--lr", "0.1", "--lr-schedule", "cosine", "--out", "m-huber"]),
    ("stream-exact", ["train", "--data", "d.parquet", "--target", "y1,y2", "--engine", "stream", "--solver", "exact",
                      "--out", "m-sexact"]),
    ("stream-gd-moments", ["train", "--data", "d.parquet", "--target", "y1", "--engine", "stream", "--epochs", "40",
                           "--lr", "0.1", "--out", "m-smom"]),
    ("stream-gd-batches", ["train", "--data", "d.parquet", "--target", "y1", "--engine", "stream", "--epochs", "3",
                           "--batch-size", "128", "--shuffle", "--out", "m-sbatch"]),
    ("stream-test-table", ["train", "--data", "d.parquet", "--test", "t.csv", "--target", "y1", "--engine", "stream",
                           "--solver", "exact", "--out", "m-stest"]),
    ("evaluate", ["evaluate", "--model", "m-exact", "--data", "t.csv", "--json", "--no-report"]),
    ("evaluate-streamed", ["evaluate", "--model", "m-exact", "--data", "d.parquet", "--memory-limit", "1MiB",
                           "--json"]),
    ("predict-csv", ["predict", "--model", "m-exact", "--data", "t.csv", "--output", "p.csv"]),
    ("predict-parquet", ["predict", "--model", "m-adam", "--data", "t.csv", "--output", "p.parquet"]),
    ("predict-stdout", ["predict", "--model", "m-poly", "--data", "t.csv"]),
    ("tutorial", ["--out", "tut"]),
    # Refusals: the exit code and the message.
    ("robust-with-gd", ["train", "--data", "d.csv", "--target", "y1", "--robust", "hc1", "--out", "m-no"]),
    ("where-without-engine", ["train", "--data", "d.csv", "--target", "y1", "--where", "x1 > 0", "--out", "m-no"]),
    ("polynomial-out-of-core", ["train", "--data", "d.parquet", "--target", "y1", "--features", "x1",
                                "--polynomial", "2", "--engine", "stream", "--out", "m-no"]),
    ("l2-with-gd", ["train", "--data", "d.csv", "--target", "y1", "--l2", "1", "--out", "m-no"]),
    ("bad-delimiter", ["train", "--data", "d.csv", "--target", "y1", "--delimiter", ";;", "--out", "m-no"]),
]

SETUP = [
    ["generate", "--rows", "2000", "--features", "4", "--targets", "2", "--seed", "5", "--output", "d.csv"],
    ["generate", "--rows", "2000", "--features", "4", "--targets", "2", "--seed", "5", "--output", "d.parquet",
     "--row-group-rows", "500"],
    ["generate", "--rows", "300", "--features", "4", "--targets", "2", "--seed", "9", "--output", "t.csv"],
    ["generate", "--rows", "500", "--features", "4", "--seed", "6", "--output", "w.csv"],
]

TIME = re.compile(r"\d+(\.\d+)? (ms|s)\b|MB/s|in \d")


def strip_seconds(value):
    if isinstance(value, dict):
        return {k: strip_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [strip_seconds(v) for v in value]
    return value


def largest_difference(a, b):
    """The largest relative difference between the numbers of two JSON values of the same
    shape; None when their shapes, keys or strings differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return None
        parts = [largest_difference(a[k], b[k]) for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return None
        parts = [largest_difference(x, y) for x, y in zip(a, b)]
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if a == b or (a != a and b != b):
            return 0.0
        return abs(a - b) / max(abs(a), abs(b))
    else:
        return 0.0 if a == b else None
    return None if None in parts else max(parts, default=0.0)


def run(binary, cwd, args):
    out = subprocess.run([binary, *args, "--backend", "ndarray"], cwd=cwd, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if not TIME.search(l)]
    return out.returncode, lines, out.stderr


def outputs(folder):
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.suffix == ".json":
            found[str(rel)] = strip_seconds(json.loads(path.read_text()))
        elif path.name.startswith("p.") or path.suffix == ".safetensors":
            found[str(rel)] = path.read_bytes()
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--rel", type=float, default=0.0,
                        help="accept JSON numbers this close (relative); default: exactly equal")
    a = parser.parse_args()
    a.old, a.new = str(Path(a.old).resolve()), str(Path(a.new).resolve())
    work = a.work or Path(tempfile.mkdtemp(prefix="linreg-compare-"))
    folders = {}
    for side, binary in (("old", a.old), ("new", a.new)):
        folder = work / side
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        folders[side] = folder
        for args in SETUP:
            code, _, err = run(binary, folder, args)
            assert code == 0, err
    differences = 0
    for name, args in CASES:
        got = {side: run(b, folders[side], args) for side, b in (("old", a.old), ("new", a.new))}
        same = got["old"][0] == got["new"][0] and got["old"][1] == got["new"][1]
        # A refusal is compared by its message too.
        same = same and (got["new"][0] == 0 or got["old"][2] == got["new"][2])
        print(f"{'same' if same else 'DIFFERENT':9} {name} (exit {got['new'][0]})")
        if not same:
            differences += 1
            for side in ("old", "new"):
                print(f"  {side}: exit {got[side][0]}", *got[side][1][:40], got[side][2][-2000:], sep="\n    ")
    old, new = outputs(folders["old"]), outputs(folders["new"])
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        rel = largest_difference(old.get(key), new.get(key)) if key.endswith(".json") else None
        if rel is not None and rel <= a.rel:
            print(f"close     file {key}: numbers equal to {rel:.1e} relative (--rel {a.rel:g})")
        else:
            differences += 1
            print(f"DIFFERENT file {key}" + (f": numbers differ by {rel:.1e} relative" if rel else ""))
    print(f"{len(CASES)} cases, {len(set(old) | set(new))} files compared: {differences} difference(s)")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
