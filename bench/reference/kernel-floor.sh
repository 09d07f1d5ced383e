#!/usr/bin/env bash
# Kernel floor for the fan-out scenarios a, b, e and g of `npm run bench`: compiles kernel-floor.c
# (a C "server" that does nothing but the syscalls) and runs each scenario in each mode, one run
# at a time, printing a Markdown table. See the comment at the top of kernel-floor.c. g runs with
# one server process and with two (each sending to half the channel: the floor for 2 workers).
#
#   bench/reference/kernel-floor.sh [--seconds 10] [--warmup 1] [--batch 8] [--scenarios a,b,e,g]
#
# Each run takes about seconds + warmup + 1 s (g: + ~2 s to connect). CC selects the compiler (default: cc).
set -u

seconds=10 warmup=1 batch=8 scenarios=a,b,e,g
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kernel-floor.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  for alt in gcc clang; do command -v "$alt" >/dev/null 2>&1 && cc=$alt && break; done
fi
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "kernel-floor.sh: no C compiler found (tried ${CC:-cc}, gcc, clang)." >&2
  echo "Install one (e.g. apt-get install gcc) or set CC=/path/to/compiler." >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kernel-floor.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
if ! "$cc" -O2 -o "$tmp/kernel-floor" "$here/kernel-floor.c" 2>"$tmp/cc.log"; then
  echo "kernel-floor.sh: compiling kernel-floor.c with $cc failed:" >&2
  cat "$tmp/cc.log" >&2
  exit 2
fi

# Up to 18,000 sockets per process (g) plus a few; the program also raises its soft limit to the
# hard limit itself, this covers shells whose soft limit is low.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null
else ulimit -n "$hard" 2>/dev/null; fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 18100 ]; then
  echo "kernel-floor.sh: open-files limit is $(ulimit -n) (hard $hard); scenario g needs about 18,100, b 5,100." >&2
  echo "Raise the hard limit (e.g. /etc/security/limits.conf or systemd LimitNOFILE) and retry." >&2
fi

echo "Kernel floor: $(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), ${seconds} s measured after ${warmup} s warm-up, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| scenario | mode | deliveries/s | user µs | sys µs | total µs/delivery | ksoftirqd µs | p50 ms | p99 ms | fan-out p50 / max ms | lost |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

status=0
runs=()
case ",$scenarios," in *,a,*) runs+=("a write" "a uring") ;; esac
case ",$scenarios," in *,b,*) runs+=("b write" "b uring") ;; esac
case ",$scenarios," in *,e,*) runs+=("e write" "e uring" "e writev --batch $batch" "e uring --batch $batch") ;; esac
case ",$scenarios," in *,g,*) runs+=("g write" "g write --servers 2" "g uring" "g uring --servers 2") ;; esac
for run in "${runs[@]}"; do
  set -- $run
  args=(--scenario "$1" --mode "$2" --seconds "$seconds" --warmup "$warmup" "${@:3}")
  "$tmp/kernel-floor" "${args[@]}" 2>>"$tmp/details"
  rc=$?
  case $rc in
    0|3) ;;                           # 3 = io_uring unavailable, already shown in the row
    1) status=1 ;;                    # ran, but lost/bad/out-of-order frames: shown in the row
    *) status=1; echo "| $1 | $2 | failed (exit $rc) | | | | | | | | |" ;;
  esac
done

echo
echo "Per run (server CPU is getrusage of the server process only, of all of them with --servers; client CPU shown for comparison):"
sed 's/^/- /' "$tmp/details"
exit $status
