#!/usr/bin/env node
// Virtual lab: boot-to-ready time of a guest (bootGuest() called -> guest
// ready: modules loaded, every card present, guestd answering), the guest's
// own boot timeline, and memory (inside the guest and QEMU's RSS on the host);
// then the control channel's throughput and latency on one booted guest.
//   node bench/vlab-boot.js [boots, default 7] [hardware, default "default"]
// Needs a built tree (node scripts/build.js --ts) and the setup step's packages.
// One warm-up boot first (kernel cache, guestd build, KVM probe), not counted.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { bootGuest } from '../dist/app/vlab/index.js';

const boots = Number(process.argv[2] ?? 7);
const hw = process.argv[3] ?? 'default';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stamp = (g, what) => {
  const l = g.bootReport.find((x) => x.startsWith(what));
  return l ? Number(l.split('@')[1]) : NaN;
};
/** CPU seconds QEMU has used (user + system, all its threads): what a boot costs, whatever else runs. */
const qemuCpuS = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
};
const heartbeat = (g) => g.heartbeat ?? new Promise((r) => g.once('heartbeat', r));

async function bootOnce() {
  const t0 = process.cpuUsage();
  const g = await bootGuest({ hw });
  const cpu = process.cpuUsage(t0);
  const qemuCpuAtReadyS = qemuCpuS(g.qemuPid);
  const hb = await heartbeat(g);
  const r = {
    readyMs: g.readyMs,
    guestUptimeAtReadyS: stamp(g, 'ready'),
    kernelToInitS: stamp(g, 'stage1'),
    rootMountedS: stamp(g, 'root'),
    modulesLoadedS: stamp(g, 'loaded'),
    guestUsedMb: (hb.memTotalKb - hb.memAvailableKb) / 1024,
    guestTotalMb: hb.memTotalKb / 1024,
    qemuRssMb: (g.qemuRssKb() ?? NaN) / 1024,
    labCpuMs: (cpu.user + cpu.system) / 1000,
    qemuCpuAtReadyS,
    accel: g.accel,
  };
  return { g, r };
}

async function channel(g) {
  const out = {};
  {
    const t = process.hrtime.bigint();
    let n = 0;
    const h = g.exec('head', ['-c', String(256 << 20), '/dev/zero']);
    h.stdin.end();
    h.stdout.on('data', (d) => (n += d.length));
    await h.exit;
    out.guestToHostMBps = n / (Number(process.hrtime.bigint() - t) / 1e9) / 1e6;
  }
  {
    const total = 256 << 20;
    const t = process.hrtime.bigint();
    const h = g.exec('wc', ['-c']);
    let res = '';
    h.stdout.on('data', (d) => (res += d));
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    for (let i = 0; i < total / chunk.length; i++) if (!h.stdin.write(chunk)) await new Promise((r) => h.stdin.once('drain', r));
    h.stdin.end();
    await h.exit;
    if (Number(res.trim()) !== total) throw new Error(`host->guest lost data: ${res}`);
    out.hostToGuestMBps = total / (Number(process.hrtime.bigint() - t) / 1e9) / 1e6;
  }
  {
    // Protocol-like traffic: short text records, one per line.
    const n = 1_000_000;
    const t = process.hrtime.bigint();
    let lines = 0;
    const h = g.exec('sh', ['-c', `yes 'ev 123456789 lane0 pcm.write ret=4800 t=1234567890' | head -n ${n}`]);
    h.stdin.end();
    h.stdout.on('data', (d) => {
      for (let i = 0; i < d.length; i++) if (d[i] === 10) lines++;
    });
    await h.exit;
    if (lines !== n) throw new Error(`lines lost: ${lines}`);
    out.linesPerSec = n / (Number(process.hrtime.bigint() - t) / 1e9);
  }
  {
    // Round trip: a line to cat in the guest and back, one at a time.
    const h = g.exec('cat', []);
    const rtt = [];
    let wake;
    h.stdout.on('data', () => wake?.());
    for (let i = 0; i < 1000; i++) {
      const t = process.hrtime.bigint();
      await new Promise((r) => {
        wake = r;
        h.stdin.write('x\n');
      });
      rtt.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    h.stdin.end();
    await h.exit;
    rtt.sort((a, b) => a - b);
    out.rttMedianUs = rtt[500];
    out.rttP99Us = rtt[990];
  }
  {
    // Starting a short program (fork, exec over 9p, exit, exit status back).
    const ms = [];
    for (let i = 0; i < 20; i++) {
      const t = process.hrtime.bigint();
      await g.run('true');
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    out.execTrueMedianMs = median(ms);
  }
  return out;
}

const load0 = loadavg()[0];
const warm = await bootOnce();
process.stderr.write(`warm-up boot: ${warm.r.readyMs} ms (${warm.r.accel}); load average before: ${load0}\n`);
await warm.g.shutdown();

const runs = [];
for (let i = 0; i < boots; i++) {
  const { g, r } = await bootOnce();
  runs.push(r);
  process.stderr.write(`boot ${i + 1}/${boots}: ready in ${r.readyMs} ms, guest uptime ${r.guestUptimeAtReadyS} s, guest used ${r.guestUsedMb.toFixed(1)} MB, QEMU RSS ${r.qemuRssMb.toFixed(0)} MB\n`);
  if (i < boots - 1) await g.shutdown();
  else {
    const c = await channel(g);
    await g.shutdown();
    const keys = Object.keys(runs[0]).filter((k) => typeof runs[0][k] === 'number');
    const med = Object.fromEntries(keys.map((k) => [k, Math.round(median(runs.map((x) => x[k])) * 100) / 100]));
    const spread = { readyMsMin: Math.min(...runs.map((x) => x.readyMs)), readyMsMax: Math.max(...runs.map((x) => x.readyMs)) };
    const round = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Math.round(v * 10) / 10]));
    // Other work on the machine shows in wall-clock numbers; say how busy it was.
    console.log(JSON.stringify({ hw, boots, accel: runs[0].accel, loadavg1m: loadavg()[0], median: med, ...spread, channel: round }, null, 2));
  }
}
