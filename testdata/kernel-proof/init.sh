#!/bin/sh
# /init of the kernel proof's initramfs (scripts/kernel-proof.sh). Loads kp_target, then
# for each case parks its worker, starts a transition (enable: insmod the livepatch;
# disable: echo 0 > enabled; replace: insmod a .replace livepatch over the enabled one),
# watches /sys/kernel/livepatch/<patch>/transition while the worker stays parked,
# releases it and checks that the transition then completes. One line per case:
#   KP-RESULT <case> <direction> <sets> <observed> <parked> <after> <version> <stack>
# observed: completed (while the worker was parked) or held (still in transition after
# WATCH tenths of a second); parked: yes when the worker was still parked then; after:
# completed or stuck (the transition after the release); version: what the worker's
# function returned afterwards (1 original, 2 the first livepatch, 3 the replacing one).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

P=/sys/module/kp_target/parameters
L=/sys/kernel/livepatch
WATCH=30

say() { echo "KP-$*"; }
tenth() { usleep 100000; }

place_of() {
	case "$1" in
	cold_one) echo 1 ;; cold_gained) echo 2 ;; cold_lost) echo 3 ;;
	tail_added) echo 4 ;; tail_removed) echo 5 ;; elsewhere) echo 6 ;;
	esac
}

# The worker's stack, frames after msleep, as "a<-b<-c".
stack() {
	sed -e 's/^\[<[0-9a-f]*>\] //' -e 's/+0x[0-9a-f]*\/0x[0-9a-f]*//' -e 's/ \[.*\]$//' "/proc/$PID/stack" |
		grep -v -e '^msleep$' -e '^schedule' -e '^__schedule' |
		sed -n '1,3p' | tr '\n' '<' | sed -e 's/<$//' -e 's/</<-/g'
}

park() {
	echo "$1" > $P/park
	i=0
	while [ "$(cat $P/parked)" != "$1" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { say "ERROR worker did not park at $1"; return 1; }
		tenth
	done
}

release() { echo 0 > $P/park; }

in_transition() {
	[ "$(cat $L/$1/transition 2>/dev/null)" = 1 ]
}

# completed or held: does the transition end within WATCH tenths of a second?
watch() {
	i=0
	while [ $i -lt $WATCH ]; do
		in_transition "$1" || { echo completed; return; }
		tenth
		i=$((i + 1))
	done
	echo held
}

# completed or stuck: the transition after the release (the kernel retries every second).
settle() {
	i=0
	while [ $i -lt 60 ]; do
		in_transition "$1" || { echo completed; return; }
		tenth
		i=$((i + 1))
	done
	echo stuck
}

version() { tenth; tenth; cut -d, -f$(($1 + 1)) $P/versions; }

unload() {
	i=0
	while [ -d /sys/module/$1 ]; do
		rmmod "$1" 2>/dev/null && return
		i=$((i + 1))
		[ $i -gt 50 ] && { say "ERROR cannot rmmod $1"; return 1; }
		tenth
	done
}

report() { # case direction sets observed patch place stack
	parked=no
	[ "$(cat $P/parked)" = "$6" ] && parked=yes
	release
	after=$(settle "$5")
	say "RESULT $1 $2 $3 $4 $parked $after $(version "$6") $7"
}

# case sets livepatch: enable with the worker parked, then disable with it parked again.
enable_disable() {
	place=$(place_of "$1")
	park "$place" || return
	where=$(stack)
	insmod "/m/$3.ko" || { say "ERROR insmod $3 failed"; release; return; }
	report "$1" enable "$2" "$(watch "$3")" "$3" "$place" "$where"
	park "$place" || return
	where=$(stack)
	echo 0 > "$L/$3/enabled"
	report "$1" disable "$2" "$(watch "$3")" "$3" "$place" "$where"
	unload "$3"
}

# case sets replaced replacing: the worker parked in the replaced livepatch's code.
replace() {
	place=$(place_of "$1")
	insmod "/m/$3.ko" || { say "ERROR insmod $3 failed"; return; }
	settle "$3" > /dev/null
	park "$place" || return
	where=$(stack)
	insmod "/m/$4.ko" || { say "ERROR insmod $4 failed"; release; return; }
	report "$1" replace "$2" "$(watch "$4")" "$4" "$place" "$where"
	unload "$3"
	echo 0 > "$L/$4/enabled"
	settle "$4" > /dev/null
	unload "$4"
}

insmod /m/kp_target.ko || { say "ERROR insmod kp_target failed"; reboot -f; }
PID=
for d in /proc/[0-9]*; do
	[ "$(cat "$d/comm" 2>/dev/null)" = kp_worker ] && PID=${d#/proc/}
done
say "START kernel $(uname -r) worker $PID"

# kp.sets=without on the kernel command line: only the livepatches without the sets
# (a kernel without the stack_only patch cannot build the others).
SETS=$(sed -n 's/.*kp\.sets=\([a-z,]*\).*/\1/p' /proc/cmdline | tr , ' ')
for sets in ${SETS:-without with}; do
	lp=kp_lp_nosets
	[ $sets = with ] && lp=kp_lp_sets
	for c in cold_one cold_gained cold_lost tail_added tail_removed elsewhere; do
		enable_disable $c $sets $lp
	done
	for c in cold_one cold_gained cold_lost tail_added tail_removed elsewhere; do
		replace $c $sets ${lp} ${lp}_b
	done
done

# The kernel's own selftest module for stack-only entries (lib/livepatch).
if [ ! -f /m/test_klp_stack_only.ko ]; then
	:
elif insmod /m/test_klp_stack_only.ko; then
	cmdline=$(cat /proc/cmdline)
	echo 0 > $L/test_klp_stack_only/enabled
	settle test_klp_stack_only > /dev/null
	unload test_klp_stack_only
	say "SELFTEST load ok: /proc/cmdline: $cmdline"
else
	say "SELFTEST load FAILED"
fi
if [ ! -f /m/test_klp_stack_only.ko ]; then
	:
elif insmod /m/test_klp_stack_only.ko use_new_func=1; then
	echo 0 > $L/test_klp_stack_only/enabled
	settle test_klp_stack_only > /dev/null
	unload test_klp_stack_only
	say "SELFTEST new_func load ok"
else
	say "SELFTEST new_func load FAILED"
fi
for p in missing_old missing_new; do
	if [ ! -f /m/test_klp_stack_only.ko ]; then
		:
	elif insmod /m/test_klp_stack_only.ko $p=1 2>/dev/null; then
		say "SELFTEST $p loaded (must fail)"
		echo 0 > $L/test_klp_stack_only/enabled
	else
		say "SELFTEST $p refused: $(dmesg | grep 'stack_only function' | tail -n 1 | sed 's/^\[[ 0-9.]*\] //')"
	fi
done

say DONE
reboot -f
