#!/usr/bin/env node
// The native agent, measured:
//  1. ioctl rate: the agent issuing one ioctl in a loop (a lane of one step,
//     every call timed and reported as an event) against a bare C loop doing
//     the same ioctl on the same device in the same guest
//     (bench/agent-bare-loop.c), alternating, several rounds;
//  2. events per second the host side decodes, with nothing lost: the agent on
//     this machine streaming as fast as it can (ops that fail before any system
//     call), every event counted against the agent's own count;
//  3. the agent's memory (resident set, from its heartbeat).
//   node bench/agent-bench.js [rounds, default 5] [seconds per run, default 2]
// Needs a built tree (node scripts/build.js) and the setup step's packages.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootGuest } from '../dist/app/vlab/index.js';
import { VmTarget } from '../dist/app/targets/vm.js';
import { ensureAgent } from '../dist/app/targets/agent/binary.js';
import { spawnAgent } from '../dist/app/targets/agent/process.js';
import { AgentSession } from '../dist/app/targets/agent/session.js';
import { encodeProgram } from '../dist/app/targets/agent/program.js';
import { compileProgram } from '../dist/app/program/compile.js';
import { parsePreset } from '../dist/app/vocabulary/preset-file.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? 5);
const secs = Number(process.argv[3] ?? 2);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');

// ---- the baseline binary, built with the agent's flags
const outDir = join(root, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const bare = join(outDir, 'agent-bare-loop');
execFileSync('cc', ['-O2', '-static', '-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-o', bare, join(root, 'bench', 'agent-bare-loop.c')]);
ensureAgent();

const scenario = (op) =>
  parsePreset(
    `name: agent-bench-${op}
setup:
  - pcm.open: { handle: p, card: Dummy }
  - pcm.hw_params: { handle: p, access: rw_interleaved }
  - pcm.prepare: p
lanes:
  - name: s
    loop:
      - pcm.${op}: p
teardown:
  - pcm.close: p
`,
    'bench.yaml',
  ).scenario;

async function agentRate(target, op) {
  let ops = 0;
  let first = Infinity;
  let last = 0;
  let rss = 0;
  const res = await target.run({
    program: compileProgram(scenario(op), { seed: 1, duration: secs * 1e9 }),
    signal: new AbortController().signal,
    emit: (e) => {
      if (e.kind === 'act' && e.lane === 's') {
        ops++;
        first = Math.min(first, e.t);
        last = Math.max(last, e.t + e.dur);
      }
    },
  });
  void res;
  return { rate: ops / ((last - first) / 1e9), ops, rss };
}

async function bareRate(g, mode) {
  const r = await g.run(bare, ['0', String(secs), mode], { timeoutMs: 60_000 });
  const m = /ops (\d+) ns (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`bare loop failed: ${r.stdout} ${r.stderr}`);
  return Number(m[1]) / (Number(m[2]) / 1e9);
}

// ---- 1. ioctl rate in the guest
const load0 = loadavg()[0];
const g = await bootGuest({ hw: 'dummy' });
const target = new VmTarget({ guest: g });
const ioctl = {};
for (const [op, mode] of [
  ['status', 'status'],
  ['prepare', 'prepare'],
]) {
  const rows = [];
  for (let i = 0; i < rounds; i++) {
    const b = await bareRate(g, mode);
    const a = await agentRate(target, op);
    rows.push({ bare: b, agent: a.rate, ratio: a.rate / b });
    process.stderr.write(`${op} round ${i + 1}: bare ${fmt(b)}/s agent ${fmt(a.rate)}/s ratio ${(a.rate / b).toFixed(3)}\n`);
  }
  ioctl[op] = { bare: median(rows.map((r) => r.bare)), agent: median(rows.map((r) => r.agent)), ratio: median(rows.map((r) => r.ratio)), rows };
}
const guestClock = (await g.run('cat', ['/sys/devices/system/clocksource/clocksource0/current_clocksource'])).stdout.trim();
await g.shutdown();

// ---- 2 and 3. host decoding, no loss; memory
async function stream(lanes) {
  const agent = spawnAgent(ensureAgent());
  const s = new AgentSession(agent);
  await s.start();
  const idleRss = Number(spawnSync('ps', ['-o', 'rss=', '-p', String(agent.pid)], { encoding: 'utf8' }).stdout.trim());
  const yaml = `name: stream
setup:
  - pcm.open: { handle: p, card: 31 }
lanes:
  - name: s
    replicas: ${lanes}
    loop:
      - pcm.status: p
`;
  const prog = encodeProgram(compileProgram(parsePreset(yaml, 's.yaml').scenario, { seed: 1, duration: secs * 1e9 }), { flags: 0 });
  let received = 0;
  const cpu0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  let maxRss = 0;
  const res = await s.run(prog, {
    signal: new AbortController().signal,
    emit: (e) => {
      if (e.kind === 'act') received++;
    },
  });
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  maxRss = res.stats?.rssKb ?? 0;
  s.quit();
  await agent.exited;
  return {
    lanes,
    agentOps: res.ops,
    received,
    lost: res.ops - received,
    perSec: received / (res.elapsed / 1e9),
    hostCpuUsPerEvent: (cpu.user + cpu.system) / received,
    hostCpuShare: (cpu.user + cpu.system) / 1e6 / wall,
    idleRssKb: idleRss,
    runRssKb: maxRss,
  };
}
const streams = [];
for (const lanes of [1, 4, 16]) streams.push(await stream(lanes));

const out = { date: new Date().toISOString(), rounds, secs, load: [load0, loadavg()[0]], guestClock, ioctl, streams };
console.log(JSON.stringify(out, null, 2));
