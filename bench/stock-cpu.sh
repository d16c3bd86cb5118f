#!/usr/bin/env bash
# Proxy CPU per message and max zero-failure call rate on the STOCK config
# (/etc/kamailio/kamailio.cfg, read in place, no defines): kamailio -f, and
# our compiled proxy when its binary is given. 127.0.0.1 only.
#
# Per contender: the proxy on a free port (own process group), a SIPp UAS
# registered as bob (tests/sipp/stock/register.xml, then uas-answer.xml on
# the same port), then SIPp UAC calls (uac-call.xml: INVITE, 100/180/200,
# ACK and BYE along the Record-Route) at fixed rates, stepped up until a
# step has a failed call. CPU = utime+stime of the proxy's process group
# from /proc, before the step and after it (plus a 1 s settle), shown as
# is and without the proxy's idle CPU (measured for 2 s before the steps).
# Messages = 6 per call received by the proxy (INVITE, 180, 200, ACK, BYE,
# 200), as bench/stateless-cpu.sh counts.
#
# Usage: bench/stock-cpu.sh [OURS_BIN]
#   OURS_BIN  our proxy built from the stock cfg
#             (cfgc build /etc/kamailio/kamailio.cfg -o OURS_BIN);
#             without it only kamailio is measured.
# Environment: RATES (calls/s steps, default "50 100 200 400 800 1600"),
#   STEP_SECONDS (default 5), WORKERS (-n for both proxies, default 2),
#   KAMAILIO_ARGS (more kamailio flags, e.g. "-x tlsf"), KEEP_WORK=1 (keep
#   the logs and SIPp statistics in the /tmp/cfgc-stock-cpu.* directory).
# Needs sipp and kamailio (apt-get install -y sip-tester kamailio), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ours_bin=${1:-}
rates=${RATES:-50 100 200 400 800 1600}
step_seconds=${STEP_SECONDS:-5}
workers=${WORKERS:-2}
cfg=/etc/kamailio/kamailio.cfg
sipp_dir=$PWD/tests/sipp/stock
moddir=$(dirname "$(ls /usr/lib/*/kamailio/modules/sl.so /usr/lib/kamailio/modules/sl.so 2>/dev/null | head -1)")
tick=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/cfgc-stock-cpu.XXXXXX)
[ -z "$ours_bin" ] || [ -x "$ours_bin" ] || { echo "not executable: $ours_bin" >&2; exit 2; }

free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# Waits (10 s at most) until something has bound UDP port $1.
wait_bound() {
    local hex i
    hex=$(printf ':%04X' "$1")
    for i in $(seq 200); do
        awk 'NR>1{print $2}' /proc/net/udp | grep -q "$hex\$" && return 0
        sleep 0.05
    done
    echo "nothing bound port $1" >&2
    return 1
}

# Sum of utime+stime+cutime+cstime (clock ticks) of process group $1.
cpu_ticks() {
    local total=0 p
    for p in $(pgrep -g "$1"); do
        [ -r "/proc/$p/stat" ] || continue
        # Field 2 (comm) has no spaces for kamailio and our binary.
        total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")))
    done
    echo "$total"
}

pgid="" uas=""
stop_all() {
    [ -z "$uas" ] || { kill "$uas" 2>/dev/null || true; wait "$uas" 2>/dev/null || true; }
    [ -z "$pgid" ] || {
        kill -TERM -- "-$pgid" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$pgid" 2>/dev/null || true
        wait "$pgid" 2>/dev/null || true
    }
    uas="" pgid=""
}
trap 'stop_all; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

# Column $2 of the last line of SIPp's statistics file $1.
stat_col() {
    python3 - "$1" "$2" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
print(rows[-1][rows[0].index(sys.argv[2])] if len(rows) > 1 else -1)
EOF
}

bench_one() { # name, then the proxy command (its -l is appended)
    local name=$1 port uport best=none rate idle_per_s
    shift
    port=$(free_port)
    setsid "$@" -l "udp:127.0.0.1:$port" >"$work/$name.log" 2>&1 &
    pgid=$!
    wait_bound "$port"
    uport=$(free_port)
    timeout 20 sipp "127.0.0.1:$port" -sf "$sipp_dir/register.xml" -s bob -i 127.0.0.1 -p "$uport" \
        -m 1 -nostdin -timeout 10s -timeout_error >/dev/null 2>&1 ||
        { echo "$name: REGISTER failed" >&2; stop_all; return 1; }
    sipp -sf "$sipp_dir/uas-answer.xml" -s bob -i 127.0.0.1 -p "$uport" -nostdin \
        >/dev/null 2>"$work/$name-uas.err" &
    uas=$!
    wait_bound "$uport"
    # Idle CPU (timer processes and threads), to read the steps against.
    local i0 i1
    i0=$(cpu_ticks "$pgid")
    sleep 2
    i1=$(cpu_ticks "$pgid")
    idle_per_s=$(python3 -c "print(($i1-$i0)/2)")
    python3 -c "print(f'$name: idle {($i1-$i0)/2*1e3/$tick:.1f} ms CPU per second')"
    for rate in $rates; do
        local calls=$((rate * step_seconds)) before after failed ok stats t0 t1
        stats="$work/$name-$rate.csv"
        before=$(cpu_ticks "$pgid")
        t0=$(date +%s.%N)
        timeout $((step_seconds * 4 + 60)) sipp "127.0.0.1:$port" -sf "$sipp_dir/uac-call.xml" -s alice \
            -key ruri "sip:bob@127.0.0.1:$port" -i 127.0.0.1 -p "$(free_port)" \
            -m "$calls" -r "$rate" -nostdin -timeout $((step_seconds * 3 + 30))s \
            -trace_stat -stf "$stats" -fd 1 -trace_err -error_file "$work/$name-$rate.err" \
            >/dev/null 2>&1 || true
        sleep 1
        after=$(cpu_ticks "$pgid")
        t1=$(date +%s.%N)
        failed=$(stat_col "$stats" "FailedCall(C)")
        ok=$(stat_col "$stats" "SuccessfulCall(C)")
        python3 -c "
t = $after - $before; m = $calls * 6; net = t - $idle_per_s * ($t1 - $t0)
print(f'$name: {$rate:5d} calls/s  {$ok}/{$calls} ok  {t*1e6/$tick/m:7.2f} µs CPU/message'
      f'  ({net*1e6/$tick/m:7.2f} without idle; {t} ticks, {m} messages)')"
        if [ "$failed" != 0 ] || [ "$ok" != "$calls" ]; then
            echo "$name: first SIPp error at $rate calls/s:" \
                "$(grep -v '^sipp\|^$' "$work/$name-$rate.err" 2>/dev/null | head -2 | tr '\n' ' ')"
            break
        fi
        best=$rate
    done
    echo "$name: max zero-failure rate (of the steps $rates): $best calls/s"
    stop_all
}

# shellcheck disable=SC2086 # KAMAILIO_ARGS: extra flags, split on purpose
bench_one kamailio kamailio -f "$cfg" -L "$moddir" -DD -E -n "$workers" -m 256 -M 8 -Y "$work" ${KAMAILIO_ARGS:-}
if [ -n "$ours_bin" ]; then
    bench_one ours "$ours_bin" -E -n "$workers"
else
    echo "ours: no binary given (bench/stock-cpu.sh OURS_BIN), not measured"
fi
