#!/usr/bin/env bash
# The native agent: a C compiler and the kernel's uapi headers to build it
# (statically, so the same binary runs inside the virtual lab's guest), and
# alsa-utils, whose aplay -l / aseqdump the virtual-lab tests compare the
# agent against inside the guest (the guest sees this machine's root).
. "$(dirname "$0")/lib.sh"
need_pkgs gcc make libc6-dev linux-libc-dev alsa-utils || exit 1
root="$(cd "$(dirname "$0")/../.." && pwd)"
make -s -C "$root/native-bridge" || { echo "setup: building the native agent failed" >&2; exit 1; }
echo "setup: native agent built: $root/native-bridge/build/stresslab-agent" >&2
