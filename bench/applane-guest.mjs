// Runs library presets in one virtual-lab guest (dummy, aloop, seq-dummy, usb-audio) and straces one
// PortAudio open/start/write/abort cycle there (the capture behind native-bridge/applane/ALSA-CALLS.md).
// Usage (after node scripts/build.js): DUR=8e9 node bench/applane-guest.mjs midi-flood stream-loopback
const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const { bootGuest } = await import(ROOT + '/dist/app/vlab/index.js');
const { VmTarget } = await import(ROOT + '/dist/app/targets/vm.js');
const { startRun } = await import(ROOT + '/dist/app/engine/run.js');
const { PresetLibrary } = await import(ROOT + '/dist/app/engine/presets.js');
const lib = new PresetLibrary();
const guest = await bootGuest({ hw: 'dummy,aloop,seq-dummy,usb-audio' });
const target = new VmTarget({ guest });
const which = process.argv.slice(2);
// strace of one PortAudio cycle, for ALSA-CALLS.md
const st = await guest.run('/bin/sh', ['-c', `cd /tmp && strace -f -e trace=openat,ioctl,close,mmap,munmap,poll,ppoll -o /tmp/pa.strace node -e "
const p=require(ROOT + '/node_modules/naudiodon/build/Release/naudiodon.node');
const d=p.getDevices(); console.error('DEVICES', JSON.stringify(d.map(x=>x.name)));
const i=d.findIndex(x=>x.name.includes('(hw:1,0)'));
process.stderr.write('MARK open\\n');
const s=p.create({outOptions:{deviceId:i,channelCount:2,sampleFormat:16,sampleRate:48000,framesPerBuffer:256,maxQueue:2,closeOnError:true}});
s.start();
(async()=>{ for(let k=0;k<4;k++) await s.write(Buffer.alloc(1024)); await s.quit('ABORT'); console.error('DONE'); })();
" ; echo rc=$?; grep -c ioctl /tmp/pa.strace; cp /tmp/pa.strace /run/vlab/host/tmp/ 2>/dev/null; cat /tmp/pa.strace | wc -l`], { timeoutMs: 120000 });
console.log('STRACE', st.code, st.stdout.slice(-500), st.stderr.slice(-1500));
const fs = await import('node:fs');
const tr = await guest.run('/bin/cat', ['/tmp/pa.strace'], { timeoutMs: 60000 });
fs.writeFileSync('/tmp/applane-pa.strace', tr.stdout);
for (const name of which) {
  const { scenario } = lib.load(name);
  const h = startRun({ scenario, target, seed: 1, outDir: `/tmp/applane-runs/${name}`, journalSync: false, duration: Number(process.env.DUR ?? 5e9) });
  const counts = {};
  h.subscribe((e) => { if (e.kind === 'act') { const k = `${e.op} ${e.errno ?? 'ok'}`; counts[k] = (counts[k] ?? 0) + 1; if (e.errno && (counts[k] <= 2)) console.log('ERR', JSON.stringify(e).slice(0, 400)); } else if (e.kind !== 'metric') console.log(JSON.stringify(e).slice(0, 300)); });
  const s = await h.done;
  console.log('SUMMARY', name, s.verdict, s.status, s.reason ?? '', JSON.stringify(counts), JSON.stringify(s.findings.map(f => f.type + ': ' + f.message)).slice(0, 1500));
  console.log('METRICS', JSON.stringify({ lat: s.metrics.latency_ns, conf: s.metrics.latency_confidence, gl: s.metrics.glitches, midi: s.metrics.midi_latency_ns, jit: s.metrics.midi_jitter_ns, seq: s.metrics.seq, xr: s.metrics.xruns }));
}
await guest.shutdown();
