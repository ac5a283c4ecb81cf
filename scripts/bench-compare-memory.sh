#!/usr/bin/env bash
# Peak memory and wall time of one object comparison on a large real module:
#   /usr/bin/time -v node dist/bin/stackonly.js compare <ext4.ko of A> <ext4.ko of B> --format json
#
#   scripts/bench-compare-memory.sh [ORIGINAL.ko PATCHED.ko]
#   BENCH_RUNS=1 (default; with more, the median wall time and the largest RSS are shown)
#
# Default objects: fs/ext4/ext4.ko of 6.1.0-54 and 6.1.0-55 from the kernel cache
# ($STACKONLY_KERNELS, default /var/tmp/stackonly-kernels; fetched if missing).
# Goal: peak RSS under 300 MB.
set -euo pipefail
. "$(dirname "$0")/_common.sh"
require_dist
require_command node
[ -x /usr/bin/time ] || fail "/usr/bin/time not found (GNU time; Debian package 'time')"

if [ "$#" -eq 2 ]; then
  A="$1"; B="$2"
elif [ "$#" -eq 0 ]; then
  A="$(kernel_modules_dir 6.1.0-54)/fs/ext4/ext4.ko"
  B="$(kernel_modules_dir 6.1.0-55)/fs/ext4/ext4.ko"
else
  fail "usage: $0 [ORIGINAL PATCHED]"
fi
[ -f "$A" ] || fail "not found: $A"
[ -f "$B" ] || fail "not found: $B"
RUNS="${BENCH_RUNS:-1}"
case "$RUNS" in ''|*[!0-9]*|0) fail "BENCH_RUNS must be a positive integer" ;; esac

tmp="$(mktemp -d "${TMPDIR:-/tmp}/stackonly-mem.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

walls=(); rss_max=0
echo "at start: $(load_line)"
for i in $(seq 1 "$RUNS"); do
  status=0
  /usr/bin/time -v -o "$tmp/time" node "$CLI" compare "$A" "$B" --format json -o "$tmp/report.json" 2>"$tmp/stderr" || status=$?
  [ "$status" -eq 0 ] || fail "stackonly compare failed (exit status $status): $(head -n1 "$tmp/stderr")"
  rss_kb="$(time_v_field "$tmp/time" 'Maximum resident set size (kbytes)')"
  wall="$(wall_seconds "$(time_v_field "$tmp/time" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")"
  walls+=("$wall")
  [ "$rss_kb" -gt "$rss_max" ] && rss_max="$rss_kb"
  echo "run $i: wall ${wall} s, max RSS $((rss_kb / 1024)) MiB"
done

summary="$(node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const by = {};
for (const f of r.functions) by[f.status] = (by[f.status] || 0) + 1;
console.log(`${r.functions.length} function(s) (${Object.entries(by).map(([k, v]) => `${v} ${k}`).join(", ") || "none"}), stack_only enable ${r.stack_only.enable.length}, disable ${r.stack_only.disable.length}, ${r.warnings.length} warning(s)`);
' "$tmp/report.json")"

echo "at end:   $(load_line)"
rss_mb="$(awk -v k="$rss_max" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')"
echo
echo "compare $A"
echo "        $B"
echo "report:        $summary"
echo "wall time:     $(median "${walls[@]}") s$([ "$RUNS" -gt 1 ] && echo " (median of $RUNS)")"
echo "max RSS:       ${rss_mb} MB ($((rss_max / 1024)) MiB)   goal: < 300 MB -> $(awk -v m="$rss_mb" 'BEGIN { print (m < 300) ? "met" : "NOT met" }')"
