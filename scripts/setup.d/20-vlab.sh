#!/usr/bin/env bash
# The virtual lab: QEMU, a static busybox for the guest's initramfs, kmod
# (depmod for the cached kernel's modules), xz (unpacking the kernel image),
# util-linux (setpriv: QEMU dies with the lab), a C compiler (guestd is built
# on first use), and alsa-utils + coreutils, whose aplay, speaker-test,
# aseqdump and stdbuf the guest runs from this machine's root; make, patch and
# gcc-12 (the compiler Debian built its kernels with) for module overlays, which
# rebuild sound modules out of tree against headers unpacked into the cache.
# The kernel itself is fetched on first boot (apt-get download of the package
# linux-image-amd64 names) into ~/.cache/audio-stress-lab; that needs current
# apt lists, so they are refreshed here when apt cannot name the package.
. "$(dirname "$0")/lib.sh"
need_pkgs qemu-system-x86 busybox-static kmod xz-utils util-linux gcc libc6-dev alsa-utils coreutils make patch gcc-12 || exit 1

if ! apt-cache depends linux-image-amd64 2>/dev/null | grep -q 'Depends: linux-image-'; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: refreshing apt lists (the virtual lab downloads its kernel with apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 || { echo "setup: apt-get update failed" >&2; exit 1; }
  else
    echo "setup: apt cannot resolve linux-image-amd64; run: sudo apt-get update" >&2
    exit 1
  fi
fi

# Warm the cache (kernel, guestd) when the tree is installed, so the first test
# run does not pay for it; without node_modules the first boot does it instead.
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -d "$root/node_modules" ]; then
  node "$root/bin/stresslab.js" vm prepare >&2 || { echo "setup: preparing the virtual lab failed" >&2; exit 1; }
fi
