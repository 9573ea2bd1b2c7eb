#!/bin/bash
# usage: run2.sh "d2 d3 ..."  (d = memory debug on, n = --no-mem-debug)
cd /work/wt/usbuaf
R=bench/usbuaf-runs
for x in $1; do
  s=${x:1}; m=${x:0:1}
  if [ $m = d ]; then extra=""; name=debug-s$s; else extra="--no-mem-debug"; name=nodebug-s$s; fi
  st=$(date +%s)
  node bin/stresslab.js run app/targets/agent/vm-presets/detach-while-open-usb.yaml --target vm --hw default --seed $s $extra --quiet --out $R/$name > $R/$name.out 2>&1
  rc=$?
  echo "$name rc=$rc secs=$(( $(date +%s)-st )) load=$(cut -d' ' -f1 /proc/loadavg) end=$(date +%T)" >> $R/progress.txt
done
echo "DONE $1" >> $R/progress.txt
