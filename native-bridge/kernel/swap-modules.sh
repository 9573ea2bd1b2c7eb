#!/bin/sh
# In a test machine or guest, as root: put rebuilt sound modules in place of
# the loaded stock ones. By hand, for a driver developer; the lab loads its
# overlays at boot and does not use this script.
#
#   swap-modules.sh [--stock DIR] [--opt MODULE=ARGS]... [--load MODULE]... KO...
#
# KO      rebuilt modules: .ko files, or directories of them (build-overlay.sh's ko/)
# --stock the running kernel's module tree, with modules.dep
#         (default /lib/modules/$(uname -r); in the virtual lab
#         ~/.cache/audio-stress-lab/kernels/linux-image-<release>/modules)
# --opt   module parameters for one module, e.g. --opt snd_dummy="pcm_substreams=4"
# --load  also load this module (rebuilt if given, else stock) if nothing did
#
# Every loaded module that has a rebuilt .ko is unloaded together with every
# module that holds it (drivers on top of snd-pcm, say), then all of them are
# loaded again, dependencies first: the rebuilt .ko where there is one, the
# stock one otherwise. Open sound devices keep modules busy: close them first.
# Loading unsigned out-of-tree modules taints the kernel; that is expected.
set -eu

STOCK=/lib/modules/$(uname -r) NEW="" OPTS="" LOAD=""
usage() { echo "usage: $0 [--stock DIR] [--opt MODULE=ARGS]... [--load MODULE]... KO..." >&2; exit 2; }
name_of() { basename "$1" .ko | tr - _; }
while [ $# -gt 0 ]; do
  case "$1" in
    --stock) [ $# -ge 2 ] || usage; STOCK=$2; shift 2 ;;
    --opt) [ $# -ge 2 ] || usage; OPTS="$OPTS
$2"; shift 2 ;;
    --load) [ $# -ge 2 ] || usage; LOAD="$LOAD $(echo "$2" | tr - _)"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "swap-modules: unknown option $1" >&2; usage ;;
    *) if [ -d "$1" ]; then for f in "$1"/*.ko; do [ -f "$f" ] && NEW="$NEW $(name_of "$f")=$f"; done
       elif [ -f "$1" ]; then NEW="$NEW $(name_of "$1")=$1"
       else echo "swap-modules: no such module or directory: $1" >&2; exit 2; fi
       shift ;;
  esac
done
[ -n "$NEW$LOAD" ] || usage
[ -f "$STOCK/modules.dep" ] || { echo "swap-modules: no modules.dep in $STOCK (use --stock)" >&2; exit 2; }

is_loaded() { [ -e "/sys/module/$1/refcnt" ] || [ -d "/sys/module/$1/sections" ]; }
rebuilt() { local e; for e in $NEW; do [ "${e%%=*}" = "$1" ] && { echo "${e#*=}"; return 0; }; done; return 1; }
stock_entry() { grep -E "(^|/)($1|$(echo "$1" | tr _ -))\.ko:" "$STOCK/modules.dep" | head -1; }
path_of() {
  local e
  rebuilt "$1" && return 0
  e=$(stock_entry "$1"); [ -n "$e" ] || { echo "swap-modules: $1 is neither rebuilt nor in $STOCK" >&2; return 1; }
  echo "$STOCK/${e%%:*}"
}
deps_of() {
  local k
  if k=$(rebuilt "$1"); then modinfo -F depends "$k" | tr , '\n' | tr - _
  else stock_entry "$1" | cut -d: -f2 | tr ' ' '\n' | sed -n 's|.*/||; s|\.ko$||p' | tr - _
  fi
}
opts_of() { echo "$OPTS" | sed -n "s/^$1=//p; s/^$(echo "$1" | tr _ -)=//p" | head -1; }

# the rebuilt modules that are loaded, and everything that holds them
todo="" affected=""
for p in $NEW; do is_loaded "${p%%=*}" && todo="$todo ${p%%=*}"; done
while [ -n "$todo" ]; do
  set -- $todo; m=$1; shift; todo="$*"
  case " $affected " in *" $m "*) continue ;; esac
  affected="$affected $m"
  for h in /sys/module/"$m"/holders/*; do [ -e "$h" ] && todo="$todo $(basename "$h")"; done
done

# unload from the top of the stack down; remember the order to load them back
reload="" left="$affected"
while [ -n "$(echo $left)" ]; do
  next="" progress=0
  for m in $left; do
    if [ -z "$(ls /sys/module/"$m"/holders 2>/dev/null)" ]; then
      rmmod "$m" || { echo "swap-modules: cannot unload $m (a device still open?)" >&2; exit 1; }
      reload="$m $reload" progress=1
    else next="$next $m"; fi
  done
  left=$next
  [ $progress = 1 ] || { echo "swap-modules: cannot unload:$left" >&2; exit 1; }
done

load() {
  local dep ko
  is_loaded "$1" && return 0
  for dep in $(deps_of "$1"); do load "$dep" || return 1; done
  ko=$(path_of "$1") || return 1
  # shellcheck disable=SC2046 # module parameters are separate words
  insmod "$ko" $(opts_of "$1") || { echo "swap-modules: insmod $ko failed (dmesg says why)" >&2; return 1; }
  if rebuilt "$1" >/dev/null; then echo "rebuilt $1 ($ko)"; else echo "stock   $1"; fi
}
for m in $reload $LOAD; do load "$m" || exit 1; done
