# Sourced by the bash scripts in this directory (not part of the package).
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS/.." && pwd)"
CLI="$ROOT/dist/bin/stackonly.js"
KERNELS="${STACKONLY_KERNELS:-/var/tmp/stackonly-kernels}"
FLAVOUR="${STACKONLY_FLAVOUR:-amd64}"

fail() { echo "$(basename "$0"): $*" >&2; exit 2; }

require_dist() {
  [ -f "$ROOT/dist/index.js" ] && [ -f "$CLI" ] ||
    fail "$ROOT/dist is missing or incomplete: run 'npm ci' (or 'npm run build') in $ROOT first"
}

require_command() {
  command -v "$1" >/dev/null 2>&1 || fail "'$1' not found in PATH${2:+: $2}"
}

# kernel_modules_dir VERSION: the directory holding that version's .ko files (fetched if missing).
kernel_modules_dir() {
  local dir="$KERNELS/$1/lib/modules/$1-$FLAVOUR/kernel"
  if [ ! -d "$dir" ]; then
    echo "$dir not found: fetching $1 with scripts/fetch-kernel-modules.sh" >&2
    "$SCRIPTS/fetch-kernel-modules.sh" "$1" >/dev/null && [ -d "$dir" ] ||
      fail "cannot get the kernel modules of $1 (scripts/fetch-kernel-modules.sh $1 failed)"
  fi
  echo "$dir"
}

# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) printf "%.2f\n", a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# time_v_field FILE "Field name": a field of /usr/bin/time -v output
time_v_field() { sed -n "s/^[[:space:]]*$2: //p" "$1" | tail -n1; }

# Wall-clock "h:mm:ss" or "m:ss.ss" of /usr/bin/time -v to seconds
wall_seconds() { echo "$1" | awk -F: '{ if (NF==3) printf "%.2f\n", $1*3600+$2*60+$3; else printf "%.2f\n", $1*60+$2 }'; }

# One line on the machine's load, to judge how noisy the timings are.
load_line() { echo "load average (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"; }
