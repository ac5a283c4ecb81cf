#!/usr/bin/env bash
# Proof in a running kernel (issue 16): a Linux 6.1 with the project's stack_only patch
# (kernel/6.1/*.patch), a test module whose worker parks in chosen code, livepatches whose
# klp_func tables come from `stackonly compare --format c`, with and without the tool's
# stack-only sets, booted in QEMU. Prints a table of cases (expected and observed) and
# exits 1 when any case differs from what is expected. See scripts/README.md.
set -euo pipefail
. "$(dirname "$0")/_common.sh"

CACHE="${STACKONLY_KERNEL_PROOF:-/var/tmp/stackonly-kernel-proof}"
JOBS="${KERNEL_PROOF_JOBS:-$(nproc)}"
QEMU_TIMEOUT="${KERNEL_PROOF_QEMU_TIMEOUT:-900}"
TESTDATA="$ROOT/testdata/kernel-proof"
WORK="$CACHE/work"
RESULTS="$CACHE/results.txt"   # the serial console's KP- lines; the table goes to table.txt

# The configuration on top of tinyconfig (issue 16), every one checked after olddefconfig.
OPTIONS=(64BIT CC_OPTIMIZE_FOR_PERFORMANCE MODULES MODULE_UNLOAD FTRACE FUNCTION_TRACER
  DYNAMIC_FTRACE KALLSYMS KALLSYMS_ALL LIVEPATCH UNWINDER_ORC STACKTRACE PROC_FS SYSFS
  DEVTMPFS BLK_DEV_INITRD RD_GZIP TTY SERIAL_8250 SERIAL_8250_CONSOLE PRINTK BINFMT_ELF
  BINFMT_SCRIPT)

log() { echo "kernel-proof: $*" >&2; }

require_dist
for tool in gcc make patch gzip xz bc bison flex perl readelf qemu-system-x86_64; do
  require_command "$tool" "install it (Debian: apt-get install qemu-system-x86 bc bison flex libelf-dev xz-utils)"
done
# objtool (ORC unwinder) needs libelf's headers.
[ -f /usr/include/gelf.h ] || fail "libelf's headers (gelf.h) not found: apt-get install libelf-dev"
BUSYBOX="${KERNEL_PROOF_BUSYBOX:-/bin/busybox}"
[ -x "$BUSYBOX" ] || fail "$BUSYBOX not found: apt-get install busybox-static"
readelf -l "$BUSYBOX" 2>/dev/null | grep -q INTERP && fail "$BUSYBOX is linked dynamically: apt-get install busybox-static"
shopt -s nullglob
PATCHES=("$ROOT"/kernel/6.1/*.patch)
shopt -u nullglob
[ ${#PATCHES[@]} -gt 0 ] || fail "no patches in $ROOT/kernel/6.1"
mkdir -p "$CACHE" || fail "cannot create $CACHE (set STACKONLY_KERNEL_PROOF to a writable directory)"

# The Linux 6.1 source: $STACKONLY_KERNEL_SOURCE, else Debian's linux-source-6.1, unpacked
# once into the cache (installed with apt-get when missing).
kernel_source() {
  if [ -n "${STACKONLY_KERNEL_SOURCE:-}" ]; then
    [ -f "$STACKONLY_KERNEL_SOURCE/Makefile" ] || fail "STACKONLY_KERNEL_SOURCE=$STACKONLY_KERNEL_SOURCE is not a kernel source tree"
    echo "$STACKONLY_KERNEL_SOURCE"
    return
  fi
  local tar=/usr/src/linux-source-6.1.tar.xz
  if [ ! -f "$tar" ]; then
    require_command apt-get "or set STACKONLY_KERNEL_SOURCE to an unpacked Linux 6.1 source"
    log "installing linux-source-6.1 with apt-get"
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1; }; } >"$CACHE/apt.log" 2>&1 ||
      fail "cannot install linux-source-6.1 (log: $CACHE/apt.log; or set STACKONLY_KERNEL_SOURCE)"
  fi
  local dir="$CACHE/source" stamp
  stamp="$(stat -c %s-%Y "$tar")"
  if [ ! -f "$dir/.unpacked-$stamp" ]; then
    log "unpacking $tar"
    rm -rf "$dir" && mkdir -p "$dir" && tar -xf "$tar" -C "$dir" && touch "$dir/.unpacked-$stamp"
  fi
  echo "$dir/linux-source-6.1"
}

# The patched, configured and built kernel, under a directory named by what goes into it.
build_kernel() {
  local src="$1" key kdir
  key="$( { cat "${PATCHES[@]}"; printf '%s\n' "${OPTIONS[@]}"; sed -n 1,5p "$src/Makefile"; gcc --version | head -n1; } | sha256sum | cut -c1-16)"
  kdir="$CACHE/kernel-$key"
  if [ -f "$kdir/.stackonly-built" ]; then
    log "kernel cached in $kdir"
    echo "$kdir"
    return
  fi
  if [ ! -f "$kdir/.stackonly-configured" ]; then
    rm -rf "$kdir"
    log "copying $src to $kdir"
    cp -a "$src" "$kdir"
    for p in "${PATCHES[@]}"; do
      patch -p1 -s -d "$kdir" < "$p" >&2 || fail "$(basename "$p") does not apply to $src"
    done
    make -s -C "$kdir" tinyconfig >/dev/null
    for o in "${OPTIONS[@]}"; do "$kdir/scripts/config" --file "$kdir/.config" -e "$o"; done
    "$kdir/scripts/config" --file "$kdir/.config" -d CC_OPTIMIZE_FOR_SIZE
    make -s -C "$kdir" olddefconfig >/dev/null 2>&1
    for o in "${OPTIONS[@]}"; do
      grep -q "^CONFIG_$o=y" "$kdir/.config" || fail "CONFIG_$o did not stick in $kdir/.config (olddefconfig dropped it)"
    done
    touch "$kdir/.stackonly-configured"
  fi
  # Incremental: an interrupted build goes on where it stopped.
  log "building bzImage and modules (Module.symvers) in $kdir with -j$JOBS"
  local started=$SECONDS
  make -s -C "$kdir" -j"$JOBS" bzImage modules >"$kdir/.stackonly-build.log" 2>&1 ||
    { tail -n 30 "$kdir/.stackonly-build.log" >&2; fail "kernel build failed (log: $kdir/.stackonly-build.log)"; }
  log "kernel built in $((SECONDS - started)) s"
  touch "$kdir/.stackonly-built"
  # Builds for other patches or options are not needed any more (about 1.5 GB each).
  local old
  for old in "$CACHE"/kernel-*; do
    [ "$old" = "$kdir" ] || { log "removing $old"; rm -rf "$old"; }
  done
  echo "$kdir"
}

# A .c livepatch table without the stack-only entries: the same livepatch, blind.
strip_stack_only() {
  awk '/^\t\{$/ { buf = $0; inblk = 1; so = 0; next }
    inblk { buf = buf "\n" $0; if ($0 ~ /\.stack_only = true/) so = 1; if ($0 ~ /^\t\},$/) { if (!so) print buf; inblk = 0 }; next }
    { print }'
}

build_modules() {
  local kdir="$1"
  rm -rf "$WORK" && mkdir -p "$WORK/target" "$WORK/lp" "$WORK/selftest"
  cp "$TESTDATA"/*.c "$TESTDATA"/*.h "$TESTDATA/Kbuild" "$WORK/target/"
  log "building the test module kp_target (and funcs_patched.o)"
  make -s -C "$kdir" M="$WORK/target" modules >"$WORK/target/build.log" 2>&1 ||
    { cat "$WORK/target/build.log" >&2; fail "kp_target does not build"; }

  # Four livepatches of the same change: A (version 2) and B (version 3, .replace), each
  # with the tool's sets and without them.
  cp "$TESTDATA/kp.h" "$TESTDATA/funcs.h" "$TESTDATA/lp_funcs.c" "$WORK/lp/"
  local v objs=()
  : >"$WORK/lp/Kbuild"
  for v in nosets sets nosets_b sets_b; do
    { case $v in *_b) echo '#define KP_LP_VERSION 3' ;; esac; echo '#include "lp_funcs.c"'; } >"$WORK/lp/funcs_$v.c"
    printf 'obj-m += kp_lp_%s.o\nkp_lp_%s-y := funcs_%s.o table_%s.o\n' "$v" "$v" "$v" "$v" >>"$WORK/lp/Kbuild"
    objs+=("funcs_$v.o")
  done
  log "building the livepatches' functions"
  make -s -C "$kdir" M="$WORK/lp" "${objs[@]}" >"$WORK/lp/build.log" 2>&1 ||
    { cat "$WORK/lp/build.log" >&2; fail "the livepatch functions do not build"; }

  # The tables: stackonly's own output, named after each livepatch object as built.
  local compare=(node "$CLI" compare "$WORK/target/funcs.o" "$WORK/target/funcs_patched.o" --object-name kp_target)
  "${compare[@]}" --format json -o "$WORK/report.json"
  for v in nosets sets nosets_b sets_b; do
    local extra=()
    case $v in *_b) extra=(--atomic-replace) ;; esac
    "${compare[@]}" --format c --klp-module --livepatch-object "$WORK/lp/funcs_$v.o" "${extra[@]}" -o "$WORK/lp/table_$v.c" 2>>"$WORK/lp/stackonly.log" ||
      { cat "$WORK/lp/stackonly.log" >&2; fail "stackonly compare failed for kp_lp_$v"; }
    case $v in nosets*) strip_stack_only <"$WORK/lp/table_$v.c" >"$WORK/lp/table_$v.tmp" && mv "$WORK/lp/table_$v.tmp" "$WORK/lp/table_$v.c" ;; esac
  done
  log "building the livepatches"
  make -s -C "$kdir" M="$WORK/lp" modules KBUILD_EXTRA_SYMBOLS="$WORK/target/Module.symvers" >>"$WORK/lp/build.log" 2>&1 ||
    { cat "$WORK/lp/build.log" >&2; fail "the livepatches do not build"; }

  # The kernel patch's own selftest module.
  cp "$kdir/lib/livepatch/test_klp_stack_only.c" "$WORK/selftest/"
  echo 'obj-m += test_klp_stack_only.o' >"$WORK/selftest/Kbuild"
  make -s -C "$kdir" M="$WORK/selftest" modules >"$WORK/selftest/build.log" 2>&1 ||
    { cat "$WORK/selftest/build.log" >&2; fail "test_klp_stack_only does not build"; }
}

# initramfs: static busybox, /init (testdata/kernel-proof/init.sh) and the modules; made
# with the kernel's gen_init_cpio (device nodes without root).
build_initramfs() {
  local kdir="$1" list="$WORK/initramfs.list" applet ko
  {
    printf 'dir /%s 755 0 0\n' bin dev proc sys m
    echo "nod /dev/console 600 0 0 c 5 1"
    echo "file /bin/busybox $BUSYBOX 755 0 0"
    for applet in sh mount insmod rmmod cat echo usleep sed grep tr cut uname dmesg reboot; do
      echo "slink /bin/$applet busybox 777 0 0"
    done
    echo "file /init $TESTDATA/init.sh 755 0 0"
    for ko in "$WORK"/target/kp_target.ko "$WORK"/lp/*.ko "$WORK"/selftest/*.ko; do
      echo "file /m/$(basename "$ko") $ko 644 0 0"
    done
  } >"$list"
  "$kdir/usr/gen_init_cpio" "$list" | gzip -1 >"$WORK/initramfs.cpio.gz"
}

boot() {
  local kdir="$1"
  log "booting QEMU (TCG; about 2 minutes)"
  timeout "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -m 256M -smp 1 -nographic -no-reboot \
    -kernel "$kdir/arch/x86/boot/bzImage" -initrd "$WORK/initramfs.cpio.gz" \
    -append "console=ttyS0 loglevel=4 panic=-1" </dev/null >"$WORK/serial.log" 2>&1 || true
  tr -d '\r' <"$WORK/serial.log" | grep -a -o 'KP-.*' >"$RESULTS" || true
  grep -q '^KP-DONE' "$RESULTS" || { tail -n 40 "$WORK/serial.log" >&2; fail "the QEMU run did not finish (serial log: $WORK/serial.log)"; }
}

# Expected outcome: does a task parked at that place, in that direction, hold the
# transition? The stock check sees only the patched functions themselves; the sets add
# the parts and the tail-called one-sided functions; nothing holds for "elsewhere".
#   held without the sets (the stock check sees it) | held with the sets
expect() {
  local case="$1" dir="$2" sets="$3" stock needed=held
  case "$case/$dir" in
    cold_gained/enable | cold_lost/disable | cold_lost/replace | tail_added/enable | tail_removed/disable | tail_removed/replace) stock=held ;;
    elsewhere/*) stock=completed needed=completed ;;
    *) stock=completed ;;
  esac
  if [ "$sets" = with ]; then echo "$needed"; else echo "$stock"; fi
}

table() {
  local bad=0 total=0 case dir sets observed parked after version stack expected verdict
  printf '%-13s %-8s %-8s %-10s %-10s %-9s %-7s %s\n' case direction sets expected observed then ok 'task parked in'
  while read -r _ case dir sets observed parked after version stack; do
    expected="$(expect "$case" "$dir" "$sets")"
    verdict=ok
    [ "$observed" = "$expected" ] && [ "$parked" = yes ] && [ "$after" = completed ] || { verdict=FAIL; bad=$((bad + 1)); }
    total=$((total + 1))
    printf '%-13s %-8s %-8s %-10s %-10s %-9s %-7s %s\n' "$case" "$dir" "$sets" "$expected" "$observed" "$after" "$verdict" "$stack"
  done < <(grep '^KP-RESULT ' "$RESULTS")
  echo
  grep '^KP-SELFTEST ' "$RESULTS" | sed 's/^KP-SELFTEST /selftest: /'
  if ! grep -q '^KP-SELFTEST load ok' "$RESULTS" || ! grep -q '^KP-SELFTEST new_func load ok' "$RESULTS" || [ "$(grep -c '^KP-SELFTEST missing_.* refused: .*stack_only function .* not found' "$RESULTS")" != 2 ]; then
    bad=$((bad + 1))
    echo "selftest: FAIL"
  fi
  grep '^KP-ERROR' "$RESULTS" && bad=$((bad + 1))
  [ "$total" -eq 36 ] || { echo "expected 36 cases, got $total"; bad=$((bad + 1)); }
  echo
  echo "$total cases, $bad unexpected (observed: the transition while the task was parked; then: after its release)"
  [ "$bad" -eq 0 ]
}

started=$SECONDS
src="$(kernel_source)"
kdir="$(build_kernel "$src")"
build_modules "$kdir"
build_initramfs "$kdir"
boot "$kdir"
log "done in $((SECONDS - started)) s; results: $RESULTS"
table | tee "$CACHE/table.txt"
exit "${PIPESTATUS[0]}"
