#!/usr/bin/env bash
# The application lane's native addons: naudiodon (PortAudio, bundles its own
# libportaudio.so.2 linked against libasound.so.2), midi (RtMidi, compiled
# against alsa-lib: needs libasound2-dev) and segfault-handler (naudiodon's
# crash reporter). The project installs with scripts off (.npmrc), so they are
# built here, against this Node's own headers (--nodedir: node-gyp downloads
# headers otherwise, which cannot work offline). Both are optional
# dependencies: if they cannot be built, this step says what is missing and
# the rest of the lab (simulator, agent, virtual lab) still works.
. "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
nm="$root/node_modules"
if [ ! -d "$nm/naudiodon" ] && [ ! -d "$nm/midi" ]; then
  echo "setup: applane: naudiodon and midi are not installed (run npm install first); the application lane is unavailable" >&2
  exit 0
fi
need_pkgs g++ make python3 libasound2-dev || {
  echo "setup: applane: the application lane's addons need g++, make, python3 and libasound2-dev; without them pa.* and midi.* presets cannot run (everything else can)" >&2
  exit 0
}
# Node's headers: Debian's nodejs and NodeSource put them in /usr/include/node
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "setup: applane: no Node.js headers under $nodedir/include/node (install the nodejs package that ships them, or libnode-dev); the application lane is unavailable" >&2
  exit 0
fi
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(command -v node-gyp || true)"
if [ -z "$gyp" ]; then
  echo "setup: applane: node-gyp not found (it ships with npm); the application lane is unavailable" >&2
  exit 0
fi
failed=()
for p in segfault-handler naudiodon midi; do
  d="$nm/$p"
  [ -d "$d" ] || continue
  bin="$d/build/Release/$p.node"
  # built already, here: skip. naudiodon's RUNPATH names the folder it was built in, so a
  # build copied from another checkout is rebuilt.
  if [ -f "$bin" ]; then
    runpath="$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*RUNPATH.*\[\(.*\)\]/\1/p')"
    if [ -z "$runpath" ] || [ "$runpath" = "$d/build/Release" ]; then continue; fi
  fi
  if ! (cd "$d" && node "$gyp" rebuild --nodedir="$nodedir" >"$d/build-setup.log" 2>&1); then
    failed+=("$p")
    echo "setup: applane: building $p failed; the last lines of $d/build-setup.log:" >&2
    tail -n 5 "$d/build-setup.log" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "setup: applane: ${failed[*]} not built; pa.*/midi.* presets will say so, the rest of the lab works" >&2
  exit 0
fi
echo "setup: applane: naudiodon and midi built" >&2
