#!/bin/sh
# Makes original.o and patched.o of this case from orig.c and patched.c (copied from
# testdata/compare/tail-call-added/), with Debian gcc 12.2.0 on x86-64. Both sides are compiled as
# "orig.c" in a scratch directory, so that STT_FILE and __FILE__ agree as in a real rebuild.
# The flags are those the fixture is compared with there (the tool adds
# -c -ffunction-sections -fdata-sections to -O2 and the case's cflags).
# After rebuilding, review the objects and refresh the snapshots:
#   UPDATE_SNAPSHOTS=1 npx vitest run test/snapshots.test.ts
set -eu
cd "$(dirname "$0")"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp orig.c "$scratch/orig.c"
(cd "$scratch" && gcc -O2 -ffunction-sections -fdata-sections -c orig.c -o original.o)
cp patched.c "$scratch/orig.c"
(cd "$scratch" && gcc -O2 -ffunction-sections -fdata-sections -c orig.c -o patched.o)
mv "$scratch/original.o" "$scratch/patched.o" .
