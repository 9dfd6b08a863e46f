#!/usr/bin/env bash
# The penalized-path benchmark: linreg, glmnet and scikit-learn on the same tables, one after
# the other (never at once), on an idle machine. Needs R with glmnet (Debian: r-base-core
# r-cran-glmnet) and scikit-learn. Usage: bash tools/bench_path.sh DIR
set -euo pipefail
dir=${1:?usage: bench_path.sh DIR}
mkdir -p "$dir"
[ -f "$dir/tall_x.bin" ] || python3 tools/bench_path.py make "$dir"
cargo build --release -p linreg-path --example bench_path
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Each table on its own, so that one case's memory does not slow the next.
for case in wide tall; do
    target/release/examples/bench_path "$dir" "$case"
    Rscript tools/bench_path.R "$dir" "$case"
    python3 tools/bench_path.py sklearn "$dir" "$case"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
