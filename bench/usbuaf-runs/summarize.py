#!/usr/bin/env python3
"""Tabulate the detach-while-open-usb repeat runs: outcome, findings, unplugs, and the
kernel lines that matter for the snd_complete_urb use-after-free question."""
import json, os, re, sys
R = os.path.dirname(os.path.abspath(__file__))
KEY = re.compile(r'timeout: still|active urbs|general protection|6b6b6b|snd_complete_urb|BUG|WARNING|Oops|cannot submit urb|sysfs: cannot create duplicate', re.I)
rows = []
for name in sorted(os.listdir(R)):
    d = os.path.join(R, name)
    if not os.path.isdir(d) or not os.path.exists(os.path.join(d, 'summary.json')):
        if os.path.isdir(d) and name != 'patches': rows.append((name, 'no summary (running, or died)', '', '', ''))
        continue
    s = json.load(open(os.path.join(d, 'summary.json')))
    ev = [json.loads(l) for l in open(os.path.join(d, 'journal.jsonl')) if l.strip()]
    klog = [e['text'] for e in ev if e.get('kind') == 'klog']
    dets = [e for e in ev if e.get('kind') == 'act' and e.get('op') == 'device.detach' and e.get('ret') == 0]
    key = sorted({re.sub(r'\d+', 'N', k)[:90] for k in klog if KEY.search(k)})
    # the run's kernel record: context.kernel (summaries written before it was one record: `kernel` beside it)
    k = {**s.get('kernel', {}), **s.get('context', {}).get('kernel', {})}
    md = 'on' if k.get('memory_debug', {}).get('on') else 'off'
    rows.append((name, f"{s['status']}/{s['verdict'] if isinstance(s.get('verdict'), str) else ''}", md, str(len(dets)), '; '.join(f['message'] for f in s['findings']) or '-', ' | '.join(key) or '-'))
for r in rows: print('\t'.join(r))
