#!/usr/bin/env bash
# C toolchain for the native agent (statically linked, so it can be copied into a guest).
. "$(dirname "$0")/lib.sh"
need_pkgs gcc make libc6-dev linux-libc-dev
