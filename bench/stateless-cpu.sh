#!/usr/bin/env bash
# Proxy CPU per message: the cfgc-compiled stateless proxy vs kamailio -f on
# the same config (examples/stateless-proxy/kamailio.cfg), in one run, SIPp
# at a fixed rate through each (127.0.0.1 only). CPU = utime+stime of the
# proxy's process tree from /proc, read before and after the load.
# Usage: bench/stateless-cpu.sh [CALLS] [RATE]
# Needs sipp and kamailio (apt-get install -y sip-tester kamailio).
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-2000}
rate=${2:-200}
cfg=examples/stateless-proxy/kamailio.cfg
moddir=$(dirname "$(ls /usr/lib/*/kamailio/modules/sl.so /usr/lib/kamailio/modules/sl.so 2>/dev/null | head -1)")
free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
uas_port=$(free_port)
cargo build --release -q -p cfgc
target/release/cfgc build -A "NEXT_PORT=$uas_port" "$cfg" -o target/stateless-proxy-bench >/dev/null
tick=$(getconf CLK_TCK)

# Sum of utime+stime (clock ticks) of a process and its threads/children.
cpu_ticks() {
    local total=0 p
    for p in $(pgrep -P "$1") "$1"; do
        [ -r "/proc/$p/stat" ] || continue
        total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")))
    done
    echo "$total"
}

run_one() { # name pid port
    local name=$1 pid=$2 port=$3 before after msgs
    sipp -sn uas -i 127.0.0.1 -p "$uas_port" -nostdin -bg >/dev/null 2>&1 || true
    sleep 0.5
    before=$(cpu_ticks "$pid")
    timeout 600 sipp -sn uac "127.0.0.1:$port" -i 127.0.0.1 -p "$(free_port)" -m "$calls" -r "$rate" \
        -nostdin -timeout 300s -trace_stat -stf "/tmp/cfgc-bench-$name.csv" >/dev/null 2>&1 || echo "$name: sipp reported failures" >&2
    after=$(cpu_ticks "$pid")
    pkill -f "sipp -sn uas -i 127.0.0.1 -p $uas_port" || true
    msgs=$((calls * 6)) # relayed per call: INVITE, 180, 200, ACK, BYE, 200
    python3 -c "print(f'$name: {($after-$before)*1e6/$tick/$msgs:.2f} µs CPU/message ({$after-$before} ticks, $msgs messages)')"
}

p1=$(free_port)
target/stateless-proxy-bench -l "udp:127.0.0.1:$p1" -n 1 2>/dev/null &
ours=$!
sleep 0.5
run_one cfgc "$ours" "$p1"
kill "$ours"

p2=$(free_port)
rundir=$(mktemp -d)
kamailio -f "$cfg" -L "$moddir" -A "NEXT_PORT=$uas_port" -l "udp:127.0.0.1:$p2" -DD -n 1 -m 64 -M 8 -Y "$rundir" >/dev/null 2>&1 &
kam=$!
sleep 1
run_one kamailio "$kam" "$p2"
kill "$kam"
