#!/usr/bin/env bash
# Tree mode on two real kernel module trees, against readelf dumping the same files.
# Alternating, BENCH_ROUNDS times (default 2), in the same run:
#   - stackonly: node dist/bin/stackonly.js compare <A kernel dir> <B kernel dir> --format json -o FILE
#     (under /usr/bin/time -v: wall time, CPU time and peak RSS), with the default -j and with -j 1
#     (how much the worker threads help on this machine; the goal is for the default);
#   - readelf, one process at a time: find A B -name '*.ko' -print0 | xargs -0 -n 64 readelf -sW -rW
#   - readelf, parallel:             the same with xargs -P $(nproc)
#   - cat of every file's bytes:     find A B -name '*.ko' -print0 | xargs -0 cat > /dev/null
# Prints the medians, the ratios, the tool's peak RSS and the report's summary.
# Goals: less wall time than readelf's plain dump (issue 11); at most 0.3x of it, 2x the
# time of cat as the goal past that, peak RSS under 300 MiB (issue 17).
# scripts/bench-tree-phases.mjs says where the time goes.
#
#   scripts/bench-tree.sh [DIR_A DIR_B]
#
# Default trees: the 6.1.0-54 and 6.1.0-55 modules from the kernel cache
# ($STACKONLY_KERNELS, default /var/tmp/stackonly-kernels; fetched if missing).
set -euo pipefail
. "$(dirname "$0")/_common.sh"
require_dist
require_command node
require_command readelf "install binutils"
require_command xargs
[ -x /usr/bin/time ] || fail "/usr/bin/time not found (GNU time; Debian package 'time')"

if [ "$#" -eq 2 ]; then
  A="$1"; B="$2"
elif [ "$#" -eq 0 ]; then
  A="$(kernel_modules_dir 6.1.0-54)"
  B="$(kernel_modules_dir 6.1.0-55)"
else
  fail "usage: $0 [DIR_A DIR_B]"
fi
[ -d "$A" ] || fail "not a directory: $A"
[ -d "$B" ] || fail "not a directory: $B"
ROUNDS="${BENCH_ROUNDS:-2}"
case "$ROUNDS" in ''|*[!0-9]*|0) fail "BENCH_ROUNDS must be a positive integer" ;; esac
NPROC="$(nproc)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/stackonly-tree.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
REPORT="$tmp/tree.json"
files="$(find "$A" "$B" -name '*.ko' | wc -l)"
[ "$files" -gt 0 ] || fail "no .ko files under $A and $B"

tool_walls=(); one_walls=(); seq_walls=(); par_walls=(); cat_walls=(); tool_rss=0; readelf_rss=0
tool_cpus=(); one_cpus=(); seq_cpus=(); par_cpus=()

# CPU seconds (user + system, children included) of the last /usr/bin/time -v run: less
# sensitive than the wall time to what else the shared machine runs.
cpu_seconds() { awk -v u="$(time_v_field "$tmp/time" 'User time (seconds)')" -v s="$(time_v_field "$tmp/time" 'System time (seconds)')" 'BEGIN { printf "%.2f\n", u + s }'; }

run_tool() { # $1 round, $2 extra option (-j 1) or nothing for the default
  local status=0
  /usr/bin/time -v -o "$tmp/time" node "$CLI" compare "$A" "$B" --format json -o "$REPORT" --quiet ${2:+$2} 2>"$tmp/stderr" || status=$?
  [ "$status" -eq 0 ] || fail "stackonly compare (tree) failed (exit status $status): $(head -n1 "$tmp/stderr")"
  local w rss cpu
  w="$(wall_seconds "$(time_v_field "$tmp/time" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")"
  rss="$(time_v_field "$tmp/time" 'Maximum resident set size (kbytes)')"
  cpu="$(cpu_seconds)"
  if [ -n "${2:-}" ]; then one_walls+=("$w"); one_cpus+=("$cpu"); else tool_walls+=("$w"); tool_cpus+=("$cpu"); fi
  [ "$rss" -gt "$tool_rss" ] && tool_rss="$rss"
  printf 'round %s: %-34s %s s (CPU %s s), peak RSS %s MiB\n' "$1" "stackonly compare (tree)${2:+ $2}" "$w" "$cpu" "$((rss / 1024))"
}

run_readelf() { # $1 round, $2 parallelism
  local status=0 label w rss
  /usr/bin/time -v -o "$tmp/time" sh -c 'find "$1" "$2" -name "*.ko" -print0 | xargs -0 -P "$3" -n 64 readelf -sW -rW >/dev/null 2>"$4"' \
    sh "$A" "$B" "$2" "$tmp/readelf.err" || status=$?
  [ "$status" -eq 0 ] || fail "readelf over the trees failed (exit status $status): $(head -n1 "$tmp/readelf.err")"
  w="$(wall_seconds "$(time_v_field "$tmp/time" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")"
  rss="$(time_v_field "$tmp/time" 'Maximum resident set size (kbytes)')"
  [ "$rss" -gt "$readelf_rss" ] && readelf_rss="$rss"
  local cpu
  cpu="$(cpu_seconds)"
  if [ "$2" -eq 1 ]; then seq_walls+=("$w"); seq_cpus+=("$cpu"); label="readelf, one at a time (-P 1)"
  else par_walls+=("$w"); par_cpus+=("$cpu"); label="readelf, parallel (-P $NPROC)"; fi
  printf 'round %s: %-34s %s s (CPU %s s)\n' "$1" "$label" "$w" "$cpu"
}

run_cat() { # $1 round
  local w
  /usr/bin/time -v -o "$tmp/time" sh -c 'find "$1" "$2" -name "*.ko" -print0 | xargs -0 cat >/dev/null' sh "$A" "$B" || fail "cat over the trees failed"
  w="$(wall_seconds "$(time_v_field "$tmp/time" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")"
  cat_walls+=("$w")
  printf 'round %s: %-34s %s s\n' "$1" "cat of every file" "$w"
}

echo "trees: $A"
echo "       $B"
echo "$files .ko files in all; $NPROC cores; $ROUNDS round(s), order alternating"
echo "at start: $(load_line)"
echo
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then
    run_tool "$r"; run_readelf "$r" 1; run_readelf "$r" "$NPROC"; run_cat "$r"; run_tool "$r" "-j 1"
  else
    run_tool "$r" "-j 1"; run_cat "$r"; run_readelf "$r" "$NPROC"; run_readelf "$r" 1; run_tool "$r"
  fi
done

t="$(median "${tool_walls[@]}")"; s="$(median "${seq_walls[@]}")"; p="$(median "${par_walls[@]}")"; c="$(median "${cat_walls[@]}")"
echo "at end:   $(load_line)"
echo
echo "median wall time over $ROUNDS round(s):"
printf '  %-40s %8.2f s\n' "stackonly compare (tree), default -j" "$t"
printf '  %-40s %8.2f s   (one thread; for comparison only)\n' "stackonly compare (tree), -j 1" "$(median "${one_walls[@]}")"
printf '  %-40s %8.2f s   ratio stackonly/readelf: %.2f\n' "readelf -sW -rW, one at a time" "$s" "$(awk -v a="$t" -v b="$s" 'BEGIN { print a / b }')"
printf '  %-40s %8.2f s   ratio stackonly/readelf: %.2f\n' "readelf -sW -rW, -P $NPROC" "$p" "$(awk -v a="$t" -v b="$p" 'BEGIN { print a / b }')"
printf '  %-40s %8.2f s   ratio stackonly/cat: %.2f\n' "cat of every file" "$c" "$(awk -v a="$t" -v b="$c" 'BEGIN { print a / b }')"
# Each round's own ratio: the tool and readelf ran minutes apart at most, so a load that
# drifts over the run weighs on both sides of it alike.
paired=()
for i in "${!tool_walls[@]}"; do paired+=("$(awk -v a="${tool_walls[$i]}" -v b="${seq_walls[$i]}" 'BEGIN { printf "%.2f", a / b }')"); done
printf '  %-40s %8.2f     (rounds: %s)\n' "ratio stackonly/readelf, paired by round" "$(median "${paired[@]}")" "${paired[*]}"
echo "median CPU time (user + system):"
printf '  %-40s %8.2f s\n' "stackonly compare (tree), default -j" "$(median "${tool_cpus[@]}")"
printf '  %-40s %8.2f s\n' "stackonly compare (tree), -j 1" "$(median "${one_cpus[@]}")"
printf '  %-40s %8.2f s\n' "readelf -sW -rW, one at a time" "$(median "${seq_cpus[@]}")"
printf '  %-40s %8.2f s\n' "readelf -sW -rW, -P $NPROC" "$(median "${par_cpus[@]}")"
echo
echo "stackonly peak RSS: $((tool_rss / 1024)) MiB   (goal: < 300 MiB -> $([ "$tool_rss" -lt 307200 ] && echo met || echo 'NOT met'))"
echo "readelf peak RSS (largest single readelf): $((readelf_rss / 1024)) MiB"
pm="$(median "${paired[@]}")"
echo "goal, less wall time than readelf one at a time: $(awk -v a="$t" -v b="$s" 'BEGIN { print (a < b) ? "met" : "NOT met" }') (paired by round: $(awk -v r="$pm" 'BEGIN { print (r < 1) ? "met" : "NOT met" }')); than readelf -P $NPROC: $(awk -v a="$t" -v b="$p" 'BEGIN { print (a < b) ? "met" : "NOT met" }')"
echo "goal, at most 0.3x readelf one at a time: $(awk -v a="$t" -v b="$s" 'BEGIN { print (a <= 0.3 * b) ? "met" : "NOT met" }'); at most 2x cat: $(awk -v a="$t" -v b="$c" 'BEGIN { print (a <= 2 * b) ? "met" : "NOT met" }')"
[ -s "$tmp/readelf.err" ] && echo "note: readelf printed $(wc -l <"$tmp/readelf.err") line(s) on stderr, first: $(head -n1 "$tmp/readelf.err")"
echo
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const s = r.summary;
console.log(`report summary: ${s.compared} objects compared, ${s.identical} identical, ${s.unchanged} unchanged, ${s.changed} changed, ${s.errors} errors; only in original ${s.only_in_original.length}, only in patched ${s.only_in_patched.length}`);
const by = {};
for (const f of r.functions) by[f.status] = (by[f.status] || 0) + 1;
console.log(`functions: ${r.functions.length} (${Object.entries(by).map(([k, v]) => `${v} ${k}`).join(", ") || "none"}); stack_only enable ${r.stack_only.enable.length}, disable ${r.stack_only.disable.length}; ${r.warnings.length} warning(s)`);
const reasons = {};
for (const f of r.functions) for (const x of f.reasons ?? []) reasons[x] = (reasons[x] || 0) + 1;
console.log(`reasons of the changed functions: ${Object.entries(reasons).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
const changed = r.objects.filter((o) => o.functions.length > 0).map((o) => `${o.path} (${o.functions.length})`);
console.log(`changed objects: ${changed.slice(0, 15).join(", ")}${changed.length > 15 ? ", ..." : ""}`);
' "$REPORT"
