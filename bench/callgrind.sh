#!/usr/bin/env bash
# Deterministic instructions per routed message, compiled vs interpreted:
# runs the in-process workload (bench/src/workload.rs) under
# valgrind --tool=callgrind for ROUNDS rounds and for 0 rounds, and divides
# the difference by the messages routed. Usage: bench/callgrind.sh [ROUNDS] [stateless|stock]
# Needs valgrind (apt-get install -y valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
cfg=${2:-stateless}
cargo build --release -q -p bench --bin route-loop
bin=target/release/route-loop
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
instr() { # mode rounds
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" "$cfg" >"$tmp/stdout" 2>"$tmp/stderr"
    grep -E '^(summary|totals):' "$tmp/out" | head -1 | awk '{print $2}'
}
msgs=$("$bin" compiled 1 "$cfg" | sed -E 's/messages=([0-9]+).*/\1/')
declare -A per
for mode in compiled interpreted; do
    base=$(instr "$mode" 0)
    full=$(instr "$mode" "$rounds")
    per[$mode]=$(( (full - base) / (rounds * msgs) ))
    echo "$mode: ${per[$mode]} instructions/message ($cfg cfg, $rounds x $msgs messages)"
done
python3 -c "print(f'interpreted / compiled: {${per[interpreted]}/${per[compiled]}:.2f}x')"
