#!/usr/bin/env bash
# Front-end speed: `cfgc check` vs `kamailio -c` on the same config, same run.
# Usage: bench/check-vs-kamailio.sh [CFG] [-A DEF]...
# Needs hyperfine and kamailio (apt-get install -y hyperfine kamailio).
set -euo pipefail
cd "$(dirname "$0")/.."
cfg=${1:-/etc/kamailio/kamailio.cfg}
shift || true
defs=("$@")
cargo build --release -q -p cfgc
cfgc=target/release/cfgc
# Both must accept the file, else the comparison is meaningless.
kamailio -c -f "$cfg" "${defs[@]}" >/dev/null 2>&1 || { echo "kamailio -c rejects $cfg" >&2; exit 1; }
"$cfgc" check -W "$cfg" "${defs[@]}" || { echo "cfgc check rejects $cfg" >&2; exit 1; }
hyperfine -N --warmup 5 --runs 50 \
    -n "cfgc check" "$cfgc check -W $cfg ${defs[*]}" \
    -n "kamailio -c" "kamailio -c -f $cfg ${defs[*]}"
