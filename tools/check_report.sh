#!/usr/bin/env bash
# The browser test of report.html, run by .ci/run (and by hand: bash tools/check_report.sh).
#
# Installs Debian's headless Chromium when it is missing, makes a fresh tutorial run, a `train`
# run on a generated 20,000-row table (so the page thins its scatter plots) and an `evaluate`
# run, then loads each report.html from the file system with the network off
# (tools/check_report.py). Fails on a console error, a request that leaves the file system, or a
# figure that did not render; prints where the screenshots are (target/report-check/*.png).
#
# LINREG_BIN names the binary to use (default: target/debug/linreg, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium-headless-shell >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium-headless-shell
fi

bin=${LINREG_BIN:-target/debug/linreg}
[ -x "$bin" ] || cargo build --locked
out=target/report-check
rm -rf "$out"
mkdir -p "$out"

"$bin" --backend ndarray --out "$out/tutorial" >"$out/tutorial.log"
"$bin" generate --rows 20000 --features 6 --noise 0.5 --seed 7 --output "$out/table.csv" >/dev/null
"$bin" train --backend ndarray --data "$out/table.csv" --target y --lr 0.05 --epochs 300 \
  --log-every 10 --out "$out/train" --quiet
"$bin" evaluate --backend ndarray --model "$out/train" --data "$out/table.csv" \
  --out "$out/evaluate" >/dev/null

# The tutorial's figures, with the point counts the tutorial itself draws: 40 training and 10
# test points, then the 10 predictions too, and the two loss curves.
python3 tools/check_report.py --screenshot-dir "$out" --top-height 1212 --top-scale 0.7 \
  --expect fig-data:markers=50 --expect fig-predictions:markers=60 --expect fig-loss:lines=2 \
  "$out/tutorial/report.html"
python3 tools/check_report.py --screenshot-dir "$out" \
  "$out/train/report.html" "$out/evaluate/report.html"
ls -l "$out"/*/report.html
