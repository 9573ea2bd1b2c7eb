#!/bin/bash
# route-1 experiment, second form: no wait in wait_clear_urbs + hub_wq paused 300 ms after
# snd_card_free_when_closed (so the last close can free the card before the streaming flush)
cd /work/wt/usbuaf
R=bench/usbuaf-runs
for s in $1; do
  name=patched-nowait-slowhub-s$s; st=$(date +%s)
  node bin/stresslab.js run app/targets/agent/vm-presets/detach-while-open-usb.yaml --target vm --hw default --seed $s \
    --kernel-patch $R/patches/wait-clear-urbs-no-wait-slow-hubwq.patch --quiet --out $R/$name > $R/$name.out 2>&1
  echo "$name rc=$? secs=$(( $(date +%s)-st )) load=$(cut -d' ' -f1 /proc/loadavg) end=$(date +%T)" >> $R/progress.txt
done
