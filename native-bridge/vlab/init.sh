#!/bin/busybox sh
# /init of a virtual-lab guest: the initramfs the host generates per boot
# (app/vlab/initramfs.ts). Runs from RAM with busybox only, which is what
# makes it quick under software emulation: no program is loaded over 9p
# until guestd takes over. Steps:
#   1. load the modules needed to reach the host's root (virtio, 9p, overlay);
#   2. mount the host's root read-only over 9p with a tmpfs overlay on top, and
#      the usual /proc /sys /dev /run /tmp on it;
#   3. load this run's sound modules from the host's module dir (load-plan,
#      computed on the host from modules.dep), one background job per piece
#      of hardware after the shared core;
#   4. wait until each piece of hardware's /proc entry exists;
#   5. switch to the new root and become guestd (the control channel), which
#      sends /run/vlab/boot-report to the host as its first message.
# /vlab/config (sourced) sets: vlab_moddir vlab_release vlab_wait vlab_wait_s vlab_msize
B=/bin/busybox
R=/vlab/boot-report
. /vlab/config

$B mount -t proc proc /proc
$B mount -t devtmpfs devtmpfs /dev
report() {
  read -r up _ </proc/uptime
  echo "$* @$up" >>$R
}
# Coarse stages on the console: the host shows them while the guest boots
# (guestd, which carries the boot report, starts only at the end).
stage() {
  echo "VLAB-STAGE: $1"
}
fatal() {
  # The host looks for this marker on the console and reports the line as the boot error.
  echo "VLAB-FATAL: $*"
  $B poweroff -f
}
report "stage1"
stage stage1

for m in $($B cat /vlab/modules.order); do
  $B insmod "/vlab/modules/$m.ko" || fatal "insmod $m failed (initramfs module)"
done
$B mkdir -p /lower /rw /newroot
$B mount -t 9p -o "trans=virtio,version=9p2000.L,ro,msize=${vlab_msize:-262144},cache=loose" hostroot /lower \
  || fatal "cannot mount the host root over 9p (the kernel needs 9p and virtio: CONFIG_9P_FS, CONFIG_NET_9P_VIRTIO, CONFIG_VIRTIO_PCI)"
$B mount -t tmpfs -o mode=0755 vlabrw /rw
$B mkdir /rw/upper /rw/work
$B mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work vlabroot /newroot \
  || fatal "cannot mount the overlay root (is overlayfs available in this kernel?)"
N=/newroot
$B mount -t tmpfs -o mode=0755 vlabrun $N/run
$B mkdir -p $N/run/vlab/host
$B mount -t devtmpfs devtmpfs $N/dev
$B mount -t proc proc $N/proc
$B mount -t sysfs sysfs $N/sys
$B mkdir -p $N/dev/pts $N/dev/shm
$B mount -t devpts -o gid=5,mode=620 devpts $N/dev/pts
$B mount -t tmpfs -o mode=1777 shm $N/dev/shm
# The host's /tmp shows through (a checkout or a working directory under /tmp, as
# CI clones make, must be where host paths say), but as an overlay of its own: the
# guest's writes there stay in RAM, and a stale host socket it sees cannot connect
# to anything. A host without a /tmp of its own gives the guest a clean tmpfs.
$B mkdir -p /rw/tmp
$B mount -t tmpfs -o mode=1777 vlabtmp /rw/tmp
$B mkdir /rw/tmp/upper /rw/tmp/work
$B chmod 1777 /rw/tmp/upper
if [ -d /lower/tmp ] && $B mount -t overlay -o lowerdir=/lower/tmp,upperdir=/rw/tmp/upper,workdir=/rw/tmp/work vlabtmp $N/tmp; then
  :
else
  $B mount -t tmpfs -o mode=1777 tmp $N/tmp
fi
$B ln -sf /proc/self/fd $N/dev/fd
echo vlab >/proc/sys/kernel/hostname
if [ -n "${vlab_moddir:-}" ]; then
  # The kernel's modules appear where modprobe and modinfo look for them.
  $B mkdir -p "$N/lib/modules/$vlab_release"
  $B mount --bind "/lower$vlab_moddir" "$N/lib/modules/$vlab_release" \
    || report "error cannot bind $vlab_moddir to /lib/modules/$vlab_release"
  # A module overlay's files cover the stock ones they replace, so a later
  # modprobe (or the kernel's request_module) loads the rebuilt module too.
  # overlay-binds lines: "<host path of the rebuilt .ko> <stock file below the module dir>".
  while read -r ours stock; do
    [ -n "$ours" ] || continue
    $B mount --bind "/lower$ours" "$N/lib/modules/$vlab_release/$stock" \
      || report "error cannot put the overlay's $ours over $stock"
  done </vlab/overlay-binds
fi
report "root"
stage root

# load-plan lines: "<group> <module name> <file below the module dir> [options...]".
# Group "core" loads first, in order; every other group is one piece of hardware
# and loads in the background, in order within the group.
load() {
  name=$1 file=$2
  shift 2
  # A path below the module dir, or an absolute host path (a module overlay's file).
  case $file in
    /*) path="/lower$file" ;;
    *) path="/lower$vlab_moddir/$file" ;;
  esac
  if [ -e "$N/sys/module/$name" ]; then
    report "mod $name ok"
  elif out=$($B insmod "$path" "$@" 2>&1); then
    report "mod $name ok"
  else
    report "mod $name fail $(echo "$out" | $B tr '\n' ' ')"
  fi
}
while read -r group name file opts; do
  # shellcheck disable=SC2086
  [ "$group" = core ] && load "$name" "$file" $opts
done </vlab/load-plan
for g in $($B awk '$1 != "core" { print $1 }' /vlab/load-plan | $B uniq); do
  (
    while read -r group name file opts; do
      # shellcheck disable=SC2086
      [ "$group" = "$g" ] && load "$name" "$file" $opts
    done </vlab/load-plan
  ) &
done
wait
report "loaded"
stage loaded

# USB devices enumerate after their driver loads; a card is ready when its
# /proc entry exists. Wait for all of them against one shared budget of ticks.
ticks=0
max_ticks=$((${vlab_wait_s:-30} * 50))
for p in ${vlab_wait:-}; do
  while [ ! -e "$N$p" ] && [ "$ticks" -lt "$max_ticks" ]; do
    $B usleep 20000
    ticks=$((ticks + 1))
  done
  if [ -e "$N$p" ]; then report "wait $p ok"; else report "wait $p timeout"; fi
done
# What the kernel is tainted with once this run's modules are in (rebuilt
# modules taint it O and E): the host decodes it for the run's summary.
report "taint $($B cat /proc/sys/kernel/tainted)"
report "ready"
stage ready
$B cp /vlab/guestd $R $N/run/vlab/
# The raw host root stays reachable (read-only) for paths the guest shadows.
$B mount --move /lower $N/run/vlab/host
$B umount /proc /dev
exec $B switch_root $N /run/vlab/guestd
fatal "switch_root failed"
