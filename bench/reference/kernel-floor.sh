#!/usr/bin/env bash
# Kernel floor for the fan-out scenarios a, b and e of `npm run bench`: compiles kernel-floor.c
# (a C "server" that does nothing but the syscalls) and runs each scenario in each mode, one run
# at a time, printing a Markdown table. See the comment at the top of kernel-floor.c.
#
#   bench/reference/kernel-floor.sh [--seconds 10] [--warmup 1] [--batch 8]
#
# Each run takes about seconds + warmup + 1 s. CC selects the compiler (default: cc).
set -u

seconds=10 warmup=1 batch=8
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# Up to 5,000 sockets per process (b) plus a few; the program also raises its soft limit to the
# hard limit itself, this covers shells whose soft limit is low.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null
else ulimit -n "$hard" 2>/dev/null; fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 5100 ]; then
  echo "kernel-floor.sh: open-files limit is $(ulimit -n) (hard $hard); scenario b needs about 5,100." >&2
  echo "Raise the hard limit (e.g. /etc/security/limits.conf or systemd LimitNOFILE) and retry." >&2
fi

echo "Kernel floor: $(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), ${seconds} s measured after ${warmup} s warm-up, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| scenario | mode | deliveries/s | user µs | sys µs | total µs/delivery | ksoftirqd µs | p50 ms | p99 ms | fan-out p50 / max ms | lost |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

status=0
for run in "a write" "a uring" "b write" "b uring" "e write" "e uring" "e writev $batch" "e uring $batch"; do
  set -- $run
  args=(--scenario "$1" --mode "$2" --seconds "$seconds" --warmup "$warmup")
  [ $# -gt 2 ] && args+=(--batch "$3")
  "$tmp/kernel-floor" "${args[@]}" 2>>"$tmp/details"
  rc=$?
  case $rc in
    0|3) ;;                           # 3 = io_uring unavailable, already shown in the row
    1) status=1 ;;                    # ran, but lost/bad/out-of-order frames: shown in the row
    *) status=1; echo "| $1 | $2 | failed (exit $rc) | | | | | | | | |" ;;
  esac
done

echo
echo "Per run (server CPU is getrusage of the server process only; client CPU shown for comparison):"
sed 's/^/- /' "$tmp/details"
exit $status
