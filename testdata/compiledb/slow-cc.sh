#!/bin/sh
# A compiler that takes its time, for the tests that interrupt a build
# (test/source-dir-signals.test.ts): it starts a sleep of its own (SLOW_CC_SECONDS,
# default 30), writes "its pid and the sleep's pid" to a file in $SLOW_CC_PIDS, waits
# for the sleep, then runs gcc with its arguments.
sleep "${SLOW_CC_SECONDS:-30}" &
echo "$$ $!" > "${SLOW_CC_PIDS:?}/cc.$$"
wait $!
exec gcc "$@"
