#!/usr/bin/env python3
"""Write <run>/klog.txt: the guest kernel lines each run captured, on the run clock (ms), so the
full journals (not committed: 0.1-0.5 MB each) are not needed to read what the kernel said."""
import json, os
R = os.path.dirname(os.path.abspath(__file__))
for name in sorted(os.listdir(R)):
    j = os.path.join(R, name, 'journal.jsonl')
    if not os.path.exists(os.path.join(R, name, 'summary.json')): continue
    with open(os.path.join(R, name, 'klog.txt'), 'w') as out:
        for l in open(j):
            if not l.strip(): continue
            e = json.loads(l)
            if e.get('kind') == 'klog': out.write(f"[{e['t'] / 1e6:10.1f} ms] {e['text']}\n")
