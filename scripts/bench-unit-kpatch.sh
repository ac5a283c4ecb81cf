#!/usr/bin/env bash
# One unit pair end to end: `stackonly compare` against kpatch's create-diff-object on the
# same two objects, alternating, BENCH_ROUNDS times (default 5), in the same run. Prints
# each run's wall time and peak RSS, the medians and the ratio (goal: at most 1).
#
#   KPATCH_CREATE_DIFF_OBJECT=/path/to/create-diff-object scripts/bench-unit-kpatch.sh ORIGINAL.o PATCHED.o [MODULE]
#
# The objects must be built as kpatch-build builds them (-ffunction-sections
# -fdata-sections, ftrace's -pg -mfentry -mrecord-mcount, the unit's own command
# otherwise). create-diff-object also wants the parent object's symbol table (taken here
# from `ld -r` of ORIGINAL.o), a Module.symvers (empty) and the sizes of the kernel's
# special structures, which kpatch-build reads from the kernel's debug information; the
# x86-64 Linux 6.1 sizes are set below unless the environment has them. MODULE names the
# parent (default vmlinux). create-diff-object is not packaged for Debian 12: build it
# from kpatch's source (`make -C kpatch-build create-diff-object`, with libelf-dev).
set -euo pipefail
. "$(dirname "$0")/_common.sh"
require_dist
require_command node
require_command ld "install binutils"
require_command readelf "install binutils"
[ -x /usr/bin/time ] || fail "/usr/bin/time not found (GNU time; Debian package 'time')"
CDO="${KPATCH_CREATE_DIFF_OBJECT:-}"
[ -n "$CDO" ] && [ -x "$CDO" ] || fail "set KPATCH_CREATE_DIFF_OBJECT to kpatch's create-diff-object"
[ "$#" -ge 2 ] || fail "usage: $0 ORIGINAL.o PATCHED.o [MODULE]"
ORIG="$1"; PATCHED="$2"; PARENT="${3:-vmlinux}"
[ -f "$ORIG" ] || fail "not a file: $ORIG"
[ -f "$PATCHED" ] || fail "not a file: $PATCHED"
ROUNDS="${BENCH_ROUNDS:-5}"
case "$ROUNDS" in ''|*[!0-9]*|0) fail "BENCH_ROUNDS must be a positive integer" ;; esac

export BUG_STRUCT_SIZE="${BUG_STRUCT_SIZE:-12}" EX_STRUCT_SIZE="${EX_STRUCT_SIZE:-12}" JUMP_STRUCT_SIZE="${JUMP_STRUCT_SIZE:-16}" \
  PRINTK_INDEX_STRUCT_SIZE="${PRINTK_INDEX_STRUCT_SIZE:-48}" PARA_STRUCT_SIZE="${PARA_STRUCT_SIZE:-16}" ALT_STRUCT_SIZE="${ALT_STRUCT_SIZE:-12}" \
  STATIC_CALL_STRUCT_SIZE="${STATIC_CALL_STRUCT_SIZE:-8}" FIXUP_STRUCT_SIZE="${FIXUP_STRUCT_SIZE:-24}" ORC_STRUCT_SIZE="${ORC_STRUCT_SIZE:-6}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/stackonly-unit.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
ld -r -o "$tmp/parent.o" "$ORIG"
readelf -s --wide "$tmp/parent.o" > "$tmp/parent.symtab"
: > "$tmp/Module.symvers"

load_line
tool_walls=(); cdo_walls=(); tool_rss=0; cdo_rss=0
for round in $(seq "$ROUNDS"); do
  status=0
  /usr/bin/time -v -o "$tmp/time" "$CDO" "$ORIG" "$PATCHED" "$PARENT" "$tmp/parent.symtab" "$tmp/Module.symvers" bench_patch "$tmp/out.o" >"$tmp/cdo.log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || fail "create-diff-object failed (exit status $status): $(tail -n1 "$tmp/cdo.log")"
  w="$(wall_seconds "$(time_v_field "$tmp/time" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")"; r="$(time_v_field "$tmp/time" 'Maximum resident set size (kbytes)')"
  cdo_walls+=("$w"); [ "$r" -gt "$cdo_rss" ] && cdo_rss="$r"
  printf 'round %s: create-diff-object  %s s, peak RSS %s MiB\n' "$round" "$w" "$((r / 1024))"
  status=0
  /usr/bin/time -v -o "$tmp/time" node "$CLI" compare "$ORIG" "$PATCHED" --format json -o "$tmp/report.json" 2>"$tmp/stderr" || status=$?
  [ "$status" -eq 0 ] || fail "stackonly compare failed (exit status $status): $(head -n1 "$tmp/stderr")"
  w="$(wall_seconds "$(time_v_field "$tmp/time" 'Elapsed (wall clock) time (h:mm:ss or m:ss)')")"; r="$(time_v_field "$tmp/time" 'Maximum resident set size (kbytes)')"
  tool_walls+=("$w"); [ "$r" -gt "$tool_rss" ] && tool_rss="$r"
  printf 'round %s: stackonly compare    %s s, peak RSS %s MiB\n' "$round" "$w" "$((r / 1024))"
done
t="$(median "${tool_walls[@]}")"; c="$(median "${cdo_walls[@]}")"
echo "median: stackonly $t s, create-diff-object $c s: ratio $(awk -v a="$t" -v b="$c" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }') (goal: at most 1)"
echo "peak RSS: stackonly $((tool_rss / 1024)) MiB (goal: under 64), create-diff-object $((cdo_rss / 1024)) MiB"
echo "create-diff-object: $(grep -c 'changed function' "$tmp/cdo.log" || true) changed function(s); stackonly: $(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(r.functions.filter((f)=>f.status==="changed").map((f)=>f.name).join(", ") || "none")' "$tmp/report.json")"
load_line
