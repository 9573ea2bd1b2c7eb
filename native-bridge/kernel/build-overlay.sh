#!/bin/sh
# Rebuild the sound modules a patch touches, out of tree, against the headers
# of the kernel they are for. By hand, for a driver developer; the lab's own
# overlays (--kernel-patch) do not use this script.
#
#   build-overlay.sh --source SRC --headers KDIR [--out DIR] PATCH...
#
# SRC   an extracted linux-source tree of exactly the kernel's version
#       (Debian: apt-get download linux-source-6.1=VERSION; only sound/ is read)
# KDIR  /usr/src/linux-headers-<release> (apt-get install linux-headers-<release>)
# DIR   output (default ./overlay): tree/ the patched sound/, build/<dir>/ one
#       kbuild directory per source directory touched, ko/ the modules,
#       manifest.txt what went in.
#
# Exit 2: bad usage, a patch that does not apply (patch's own message names
# the file and hunk) or that touches anything outside sound/. Exit 1: build
# failure (the compiler's last lines are printed).
set -eu

usage() { echo "usage: $0 --source SRC --headers KDIR [--out DIR] PATCH..." >&2; exit 2; }
die2() { echo "build-overlay: $*" >&2; exit 2; }

SRC=${LINUX_SOURCE:-} KDIR=${KDIR:-} OUT=./overlay
while [ $# -gt 0 ]; do
  case "$1" in
    --source) [ $# -ge 2 ] || usage; SRC=$2; shift 2 ;;
    --headers) [ $# -ge 2 ] || usage; KDIR=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) die2 "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
[ -n "$SRC" ] && [ -d "$SRC/sound" ] || die2 "--source must be a linux-source tree with sound/ in it (got '${SRC}')"
if [ -z "$KDIR" ] || [ ! -f "$KDIR/Makefile" ] || [ ! -f "$KDIR/Module.symvers" ]; then
  echo "build-overlay: --headers must be an installed linux-headers tree (got '${KDIR}'); installed:" >&2
  ls -d /usr/src/linux-headers-*-amd64 2>/dev/null >&2 || echo "  none: apt-get install linux-headers-<release>" >&2
  exit 2
fi
for p in "$@"; do
  [ -f "$p" ] || die2 "no such patch: $p"
  # every file a patch creates, changes or deletes must be under sound/
  bad=$(sed -n 's/^\(---\|+++\) [ab]\/\([^	 ]*\).*/\2/p' "$p" | grep -v '^sound/' | grep -v '^dev/null$' || true)
  [ -z "$bad" ] || die2 "$p touches files outside sound/: $(echo $bad)"
done

OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
rm -rf "$OUT/tree" "$OUT/build" "$OUT/ko"
mkdir -p "$OUT/tree" "$OUT/build" "$OUT/ko"
cp -r "$SRC/sound" "$OUT/tree/sound"
for p in "$@"; do
  if ! (cd "$OUT/tree" && patch -p1 --dry-run --batch < "$p" > "$OUT/patch.log" 2>&1); then
    cat "$OUT/patch.log" >&2
    die2 "$p does not apply to $SRC"
  fi
  (cd "$OUT/tree" && patch -p1 --batch --quiet < "$p")
done

# The directories to rebuild: each one holding a changed file, built with its
# own Makefile minus its subdirectories (sound/soc's lists every vendor's).
dirs=$(cat "$@" | sed -n 's/^+++ b\/\(sound\/.*\)\/[^\/	 ]*.*/\1/p' | sort -u)
[ -n "$dirs" ] || die2 "the patches change no file under sound/"
release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$KDIR/include/generated/utsrelease.h" 2>/dev/null)
{
  echo "source:  $SRC"
  echo "headers: $KDIR ($release)"
  for p in "$@"; do echo "patch:   $(sha256sum "$p" | cut -c1-16) $p"; done
} > "$OUT/manifest.txt"
for d in $dirs; do
  b="$OUT/build/$(echo "$d" | tr / _)"
  mkdir -p "$b"
  find "$OUT/tree/$d" -maxdepth 1 -type f -exec cp {} "$b/" \;
  grep -vE '\+=[[:space:]]*([A-Za-z0-9_-]+/[[:space:]]*)+$' "$OUT/tree/$d/Makefile" > "$b/Makefile"
  t0=$(date +%s)
  if ! make -C "$KDIR" M="$b" modules -j"$(nproc)" > "$b/build.log" 2>&1; then
    tail -30 "$b/build.log" >&2
    echo "build-overlay: building $d failed (whole log: $b/build.log)" >&2
    exit 1
  fi
  # keep the modules linked from a changed file (all of the directory's for a
  # changed header): the others are the stock code rebuilt, no need to swap them
  changed=$(cat "$@" | sed -n "s|^+++ b/$d/\([^/	 ]*\).*|\1|p" | sort -u)
  kept=""
  for k in "$b"/*.ko; do
    m=${k%.ko}.mod
    for f in $changed; do
      case "$f" in
        *.h) ;;
        *.c) grep -qx "$b/${f%.c}.o" "$m" || continue ;;
        *) continue ;;
      esac
      cp "$k" "$OUT/ko/"; kept="$kept $(basename "$k")"; break
    done
  done
  echo "built $d in $(( $(date +%s) - t0 )) s:$kept" | tee -a "$OUT/manifest.txt"
done
for k in "$OUT"/ko/*.ko; do
  echo "module:  $(basename "$k") $(modinfo -F vermagic "$k")" >> "$OUT/manifest.txt"
done
echo "modules in $OUT/ko"
