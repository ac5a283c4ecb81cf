#!/usr/bin/env bash
# Download and extract Debian kernel image packages into a cache, once.
#
#   scripts/fetch-kernel-modules.sh [VERSION...]     (default: 6.1.0-54 6.1.0-55)
#
# VERSION is the ABI name without the flavour (6.1.0-54) or with it (6.1.0-54-amd64).
# Cache: $STACKONLY_KERNELS (default /var/tmp/stackonly-kernels); each version is
# extracted to <cache>/<VERSION>/ and its modules live in
# <cache>/<VERSION>/lib/modules/<VERSION>-<flavour>/kernel (flavour: $STACKONLY_FLAVOUR,
# default amd64). Already extracted versions are not downloaded again.
# Prints one line per version on stdout: the directory that holds its .ko files.
# Needs apt-get (with Debian's security/updates sources) and dpkg-deb; root, or a cache
# directory you can write to.
set -euo pipefail

CACHE="${STACKONLY_KERNELS:-/var/tmp/stackonly-kernels}"
FLAVOUR="${STACKONLY_FLAVOUR:-amd64}"
[ "$#" -gt 0 ] || set -- 6.1.0-54 6.1.0-55

die() { echo "fetch-kernel-modules: $*" >&2; exit 1; }

mkdir -p "$CACHE" 2>/dev/null || die "cannot create the cache directory $CACHE (set STACKONLY_KERNELS to a writable directory)"
[ -w "$CACHE" ] || die "the cache directory $CACHE is not writable (run as root or set STACKONLY_KERNELS)"

for arg in "$@"; do
  version="${arg%-"$FLAVOUR"}"
  case "$version" in
    *[!0-9A-Za-z.+~-]*|'') die "not a kernel version: '$arg' (expected e.g. 6.1.0-54)" ;;
  esac
  pkg="linux-image-$version-$FLAVOUR"
  dest="$CACHE/$version"
  modules="$dest/lib/modules/$version-$FLAVOUR/kernel"

  if [ -d "$modules" ] && [ -f "$dest/.stackonly-extracted" -o -n "$(find "$modules" -name '*.ko' -print -quit 2>/dev/null)" ]; then
    echo "$pkg: already extracted in $dest" >&2
    echo "$modules"
    continue
  fi

  command -v apt-get >/dev/null || die "apt-get not found: this script needs a Debian system to download $pkg"
  command -v dpkg-deb >/dev/null || die "dpkg-deb not found: this script needs a Debian system to extract $pkg"

  deb="$(ls "$CACHE/${pkg}_"*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    echo "$pkg: downloading into $CACHE" >&2
    if ! (cd "$CACHE" && apt-get download "$pkg" >&2); then
      # A new machine's package lists are empty: read them once, then try again.
      echo "$pkg: not in the package lists; running apt-get update" >&2
      if ! { apt-get update -qq >&2 && (cd "$CACHE" && apt-get download "$pkg" >&2); }; then
        die "apt-get download $pkg failed (is the package in your apt sources? apt-cache policy $pkg)"
      fi
    fi
    deb="$(ls "$CACHE/${pkg}_"*.deb 2>/dev/null | head -n1 || true)"
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
  else
    echo "$pkg: using $deb" >&2
  fi

  # Extract into a scratch directory first, so that an interrupted run leaves no half tree.
  tmp="$dest.partial.$$"
  rm -rf "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  echo "$pkg: extracting into $dest" >&2
  dpkg-deb -x "$deb" "$tmp" || die "dpkg-deb -x $deb failed"
  [ -d "$tmp/lib/modules/$version-$FLAVOUR/kernel" ] || die "$deb holds no lib/modules/$version-$FLAVOUR/kernel"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
  touch "$dest/.stackonly-extracted"
  count="$(find "$modules" -name '*.ko' | wc -l)"
  [ "$count" -gt 0 ] || die "$modules holds no uncompressed .ko files (compressed modules are not supported)"
  echo "$pkg: $count modules" >&2
  echo "$modules"
done
