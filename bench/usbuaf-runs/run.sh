#!/bin/bash
# interleaved: debug seeds 1..10, no-debug seeds 1..5, hog on throughout (started by caller)
cd /work/wt/usbuaf
R=bench/usbuaf-runs
order="d1 n1 d2 d3 n2 d4 d5 n3 d6 d7 n4 d8 d9 n5 d10"
for x in $order; do
  s=${x:1}; m=${x:0:1}
  if [ $m = d ]; then extra=""; name=debug-s$s; else extra="--no-mem-debug"; name=nodebug-s$s; fi
  st=$(date +%s)
  node bin/stresslab.js run app/targets/agent/vm-presets/detach-while-open-usb.yaml --target vm --hw default --seed $s $extra --quiet --out $R/$name > $R/$name.out 2>&1
  rc=$?
  echo "$name rc=$rc secs=$(( $(date +%s)-st )) load=$(cut -d' ' -f1 /proc/loadavg)" >> $R/progress.txt
done
echo DONE >> $R/progress.txt
