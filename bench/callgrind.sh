#!/usr/bin/env bash
# Deterministic instruction counts, compiled vs interpreted routing, with
# valgrind --tool=callgrind on the in-process workload
# (bench/src/workload.rs: REGISTER, a call, OPTIONS; fresh ids every round):
# * per message: a run routing ROUNDS rounds minus a --dry run (same
#   messages generated, same set-up, nothing routed), divided by the
#   messages routed: parsing, routing, modules, serialisation, everything;
# * route execution: instructions executed in the script layer itself
#   (exclusive cost of the generated route functions, or of the
#   interpreter's functions), per message: what compilation replaces.
# Usage: bench/callgrind.sh [ROUNDS] [stateless|stock]
# Needs valgrind (apt-get install -y valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-100}
cfg=${2:-stock}
cargo build --release -q -p bench --bin route-loop
bin=target/release/route-loop
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grind() { # mode out [--dry]
    valgrind --tool=callgrind --callgrind-out-file="$2" "$bin" "$1" "$rounds" "$cfg" ${3:-} >/dev/null 2>&1
}
total() { grep -E '^(summary|totals):' "$1" | head -1 | awk '{print $2}'; }
# Exclusive instructions of the functions matching $2 (script layer).
layer() {
    callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null \
        | { grep -E "$2" || true; } | awk '{gsub(",", "", $1); s += $1} END {print s + 0}'
}
msgs=$("$bin" compiled "$rounds" "$cfg" --dry | sed -E 's/messages=([0-9]+).*/\1/')
declare -A per script
for mode in compiled interpreted; do
    grind "$mode" "$tmp/$mode.dry" --dry
    grind "$mode" "$tmp/$mode.full"
    per[$mode]=$(( ($(total "$tmp/$mode.full") - $(total "$tmp/$mode.dry")) / msgs ))
    if [ "$mode" = compiled ]; then
        pat='route_loop::[a-z]+::(kamailio_cfg::)?Script( as [a-z_]+::engine::Script>)?::[a-z_0-9]*route'
    else
        pat='\?\?\?:(<)?(cfgc_)?interp::'
    fi
    script[$mode]=$(( ($(layer "$tmp/$mode.full" "$pat") - $(layer "$tmp/$mode.dry" "$pat")) / msgs ))
    echo "$mode: ${per[$mode]} instructions/message in all, ${script[$mode]} in route execution ($cfg cfg, $msgs messages)"
done
python3 -c "print(f'interpreted / compiled: {${per[interpreted]}/${per[compiled]}:.2f}x per message, {${script[interpreted]}/max(${script[compiled]},1):.1f}x in route execution')"
