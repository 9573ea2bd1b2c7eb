#!/bin/bash
# route-1 experiment: stock 6.1.0-57 with wait_clear_urbs' 1 s budget cut to nothing
cd /work/wt/usbuaf
R=bench/usbuaf-runs
for s in $1; do
  name=patched-nowait-s$s; st=$(date +%s)
  node bin/stresslab.js run app/targets/agent/vm-presets/detach-while-open-usb.yaml --target vm --hw default --seed $s \
    --kernel-patch $R/patches/wait-clear-urbs-no-wait.patch --quiet --out $R/$name > $R/$name.out 2>&1
  echo "$name rc=$? secs=$(( $(date +%s)-st )) load=$(cut -d' ' -f1 /proc/loadavg) end=$(date +%T)" >> $R/progress.txt
done
