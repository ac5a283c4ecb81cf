#!/bin/sh
# Regenerates the committed ELF reader fixtures in testdata/elf/: small relocatable
# objects of the classes and byte orders the host compiler does not produce, each with
# the readelf output the tests compare against (`<name>.readelf.txt`).
#
# Needs Debian's cross compilers (binutils 2.40 / gcc 12 in bookworm):
#   apt-get install gcc-i686-linux-gnu gcc-powerpc64-linux-gnu gcc-powerpc-linux-gnu \
#                   gcc-s390x-linux-gnu gcc-mips-linux-gnu
# The host's readelf (GNU binutils, multi-target) writes the expected output.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/testdata/elf"
src="$out/src"

# name | compiler | flags          (class, byte order, relocation kind)
fixtures='
i386-funcs-O2|i686-linux-gnu-gcc|-O2
ppc64-funcs-O2|powerpc64-linux-gnu-gcc|-O2
s390x-funcs-O2-ffs|s390x-linux-gnu-gcc|-O2 -ffunction-sections -fdata-sections
ppc-funcs-O2|powerpc-linux-gnu-gcc|-O2
mips-funcs-O2|mips-linux-gnu-gcc|-O2
'

# Compile from inside src/ so the STT_FILE symbol is just "funcs.c".
cd "$src"
echo "$fixtures" | while IFS='|' read -r name cc flags; do
	[ -n "$name" ] || continue
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "make-elf-fixtures: $cc not installed, skipping $name" >&2
		continue
	fi
	# shellcheck disable=SC2086
	"$cc" $flags -g0 -w -c funcs.c -o "$out/$name.o"
	LC_ALL=C readelf -SW -sW -rW -gW "$out/$name.o" >"$out/$name.readelf.txt"
	echo "$name.o: $(LC_ALL=C readelf -hW "$out/$name.o" | sed -n 's/^ *Class: *//p;s/^ *Data: *//p;s/^ *Machine: *//p' | tr '\n' ' ')"
done
