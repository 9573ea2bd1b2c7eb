#!/usr/bin/env python3
"""For each run: at each 'USB disconnect' kernel line, which player op was in flight
(a stream can only have URBs in flight between the first write and close)."""
import json, os, sys
R = os.path.dirname(os.path.abspath(__file__))
for name in sorted(os.listdir(R)):
    j = os.path.join(R, name, 'journal.jsonl')
    if not os.path.exists(os.path.join(R, name, 'summary.json')): continue
    ev = [json.loads(l) for l in open(j) if l.strip()]
    acts = [e for e in ev if e.get('kind') == 'act' and e.get('lane') == 'player']
    out = []
    for k in (e for e in ev if e.get('kind') == 'klog' and 'USB disconnect' in e.get('text', '')):
        t = k['t']
        inflight = [a for a in acts if a['t'] <= t <= a['t'] + a.get('dur', 0)]
        last = max((a for a in acts if a['t'] <= t), key=lambda a: a['t'], default=None)
        # a stream is live if since the last open there was a successful write and no close yet
        since = [a for a in acts if a['t'] <= t]
        live = False
        for a in since:
            if a['op'] == 'pcm.write' and a.get('ret', 0) > 0: live = True
            if a['op'] in ('pcm.close', 'pcm.open'): live = False
        if inflight and inflight[0]['op'] == 'pcm.close': live = True  # closing a running stream
        out.append(f"{(inflight[0]['op'] if inflight else 'between ops (last ' + (last['op'] if last else '-') + ')')}{' [stream live]' if live else ''}")
    print(name + ': ' + '; '.join(out))
