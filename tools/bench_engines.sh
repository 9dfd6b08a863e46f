#!/usr/bin/env bash
# Exact least squares on one Parquet table with every engine, and on a local Ballista cluster
# (one linreg-scheduler, two linreg-executors with one vcore each): wall time, peak RSS, and how
# far each engine's coefficients are from the in-memory fit. BENCHMARKS.md ("The four engines on
# one table") records its output.
#
#   cargo build --release -p linreg -p linreg-ballista --features linreg/ballista,linreg-ballista/enabled
#   bash tools/bench_engines.sh [DIR] [ROWS]     # DIR: scratch directory (default: a new temporary one)
#
# Needs /usr/bin/time and python3; uses ports 50050 and 51051-52053 on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
D="${1:-$(mktemp -d)}"
ROWS="${2:-10000000}"
B=target/release/linreg
S=target/release/linreg-scheduler
X=target/release/linreg-executor
for bin in "$B" "$S" "$X"; do
  [ -x "$bin" ] || { echo "$bin is missing: build it with the cargo command at the top of $0" >&2; exit 1; }
done
mkdir -p "$D"
T() { /usr/bin/time -f "   wall %e s, peak RSS %M KB" "$@"; }
train() { # OUT, then extra arguments
  local out="$1"; shift
  rm -rf "$D/$out"
  T "$B" train --data "$D/t.parquet" --test "$D/test.parquet" --target y --solver exact \
    --memory-limit 8GiB --out "$D/$out" --no-report --quiet "$@"
}

[ -f "$D/t.parquet" ] || T "$B" generate --rows "$ROWS" --features 15 --noise 0.5 --seed 1 --output "$D/t.parquet"
[ -f "$D/test.parquet" ] || T "$B" generate --rows $((ROWS / 10)) --features 15 --noise 0.5 --seed 1 --output "$D/test.parquet"
for e in stream datafusion ballista memory; do
  echo "== --engine $e"
  train "out-$e" --engine "$e"
done

echo "== --engine ballista --cluster: linreg-scheduler + 2 linreg-executors (1 vcore each)"
"$S" --bind-host 127.0.0.1 --bind-port 50050 > "$D/scheduler.log" 2>&1 &
servers=($!)
trap 'kill "${servers[@]}" 2>/dev/null || true' EXIT
sleep 1
for i in 1 2; do
  mkdir -p "$D/work$i"
  "$X" --scheduler-host 127.0.0.1 --scheduler-port 50050 --scheduler-connect-timeout-seconds 30 \
    --bind-host 127.0.0.1 --external-host 127.0.0.1 --bind-port "5${i}051" --bind-grpc-port "5${i}052" \
    --bind-health-port "5${i}053" --vcores 1 --work-dir "$D/work$i" > "$D/executor$i.log" 2>&1 &
  servers+=($!)
done
sleep 2
for run in 1 2; do
  train "out-cluster$run" --engine ballista --cluster df://127.0.0.1:50050
done
echo "== tasks (executors' logs) and jobs (scheduler's log)"
grep -h "Finished task" "$D"/executor*.log | sed 's/.*Finished/Finished/'
grep -h "Job finished\|planning took" "$D/scheduler.log" | sed 's/ INFO.*::/ /'

echo "== largest relative difference of the coefficients from --engine memory"
python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
def coef(name):
    o = json.load(open(f"{d}/out-{name}/summary.json"))["original_units"]
    return o["weight"][0] + o["bias"]
ref = coef("memory")
for n in ["stream", "datafusion", "ballista", "cluster1", "cluster2"]:
    rel = max(abs(a - b) / abs(b) for a, b in zip(coef(n), ref))
    print(f"{n:12s} {rel:.2e}")
PY
