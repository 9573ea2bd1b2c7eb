#!/usr/bin/env node
// Module overlays: what a cold overlay costs (kernel image, linux-source and
// linux-headers downloaded and unpacked into an empty cache, then the build),
// what a cached one costs, how long rebuilding each sound directory takes with
// the source and headers already cached, and boot-to-ready with and without
// an overlay and the memory-debugging boot options. Medians.
//
//   node scripts/build.js --ts && node bench/kernel-overlay.js [--kernel-version V] [--cold N] [--dir-runs N] [--boots N]
//
// Cold runs use a fresh temporary cache each (about 250 MB downloaded per run).
// bench/kernel-overlay.md has the figures written down.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vlab = await import(join(root, 'dist', 'app', 'vlab', 'index.js'));
const { distroKernel } = await import(join(root, 'dist', 'app', 'vlab', 'kernel-cache.js'));
const { kernelHeaders, kernelSource } = await import(join(root, 'dist', 'app', 'vlab', 'kbuild-cache.js'));
const { cacheRoot } = await import(join(root, 'dist', 'app', 'vlab', 'paths.js'));

const args = process.argv.slice(2);
const arg = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const version = arg('kernel-version', '');
const coldRuns = Number(arg('cold', '2'));
const boots = Number(arg('boots', '5'));
const dirRuns = Number(arg('dir-runs', '2'));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const load = () => loadavg()[0].toFixed(1);
const time = async (fn) => {
  const t0 = Date.now();
  const r = await fn();
  return [Date.now() - t0, r];
};
/**
 * CPU seconds of this process's finished children (make, gcc, xz, tar: the
 * build's real cost, which does not grow with the machine's load as wall time does).
 */
const childCpuS = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime in USER_HZ
};
/** CPU seconds QEMU has used so far (all its threads). */
const qemuCpuS = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const kernel = version ? await vlab.resolveKernel({ kernelVersion: version }) : await vlab.resolveKernel({});
process.stdout.write(`kernel ${kernel.release} (${kernel.sourceVersion}); load average ${load()}\n`);

/** A patch against the kernel's own sound/core/seq/seq.c (one pr_info), made with diff -u. */
async function makePatch(dir) {
  const src = await kernelSource(cacheRoot(), kernel.sourceVersion);
  for (const side of ['a', 'b']) cpSync(join(src.root, 'sound', 'core', 'seq', 'seq.c'), join(dir, side, 'sound', 'core', 'seq', 'seq.c'));
  const f = join(dir, 'b', 'sound', 'core', 'seq', 'seq.c');
  writeFileSync(f, readFileSync(f, 'utf8').replace(/(static int __init alsa_seq_init\(void\)\n\{\n)/, '$1\tpr_info("bench overlay\\n");\n'));
  let diff = '';
  try {
    execFileSync('diff', ['-u', 'a/sound/core/seq/seq.c', 'b/sound/core/seq/seq.c'], { cwd: dir, encoding: 'utf8' });
  } catch (e) {
    diff = e.stdout;
  }
  writeFileSync(join(dir, 'bench.patch'), diff);
  return join(dir, 'bench.patch');
}

const work = mkdtempSync(join(tmpdir(), 'overlay-bench-'));
const patch = await makePatch(work);

// 1. Cold: an empty cache; every step timed on its own.
const cold = [];
for (let i = 0; i < coldRuns; i++) {
  const cache = mkdtempSync(join(tmpdir(), 'overlay-bench-cache-'));
  try {
    const [image, k] = await time(() => distroKernel(cache, () => {}, kernel.package));
    const [source] = await time(() => kernelSource(cache, kernel.sourceVersion));
    const [headers] = await time(() => kernelHeaders(cache, kernel.release, kernel.sourceVersion));
    const cpu0 = childCpuS();
    const [build, ov] = await time(() => vlab.buildOverlay({ release: k.release, sourceVersion: kernel.sourceVersion, patches: [patch], cacheDir: cache }));
    const buildCpu = childCpuS() - cpu0;
    const [cached] = await time(() => vlab.buildOverlay({ release: k.release, sourceVersion: kernel.sourceVersion, patches: [patch], cacheDir: cache }));
    cold.push({ image, source, headers, build, buildCpu, cached, headersFrom: ov.headers, load: load() });
    process.stdout.write(`cold ${i + 1}: image ${secs(image)}, linux-source (download + sound/ unpacked) ${secs(source)}, headers ${secs(headers)} (${ov.headers}), build sound/core/seq ${secs(build)} (${buildCpu.toFixed(1)} CPU s), cached ${cached} ms; load ${load()}\n`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

// 2. Build per directory, source and headers cached, overlay not (a new patch hash each time).
const dirs = ['sound/core/seq', 'sound/core', 'sound/drivers', 'sound/usb', 'sound/pci', 'sound/soc'];
const perDir = {};
const perDirCpu = {};
for (const d of dirRuns ? dirs : []) {
  perDir[d] = [];
  perDirCpu[d] = [];
  for (let i = 0; i < dirRuns; i++) {
    const cache = cacheRoot();
    const salt = join(work, `salt-${d.replace(/\//g, '_')}-${i}`);
    // an extra directory with a unique file makes a new overlay key without changing what is built from sound/
    cpSync(join(root, 'native-bridge', 'vlab', 'faults'), salt, { recursive: true });
    writeFileSync(join(salt, 'salt.txt'), `${Date.now()} ${Math.random()}\n`);
    const cpu0 = childCpuS();
    const [ms, ov] = await time(() => vlab.buildOverlay({ release: kernel.release, sourceVersion: kernel.sourceVersion, dirs: [d], extraModuleDirs: [salt], cacheDir: cache }));
    perDir[d].push(ms);
    perDirCpu[d].push(childCpuS() - cpu0);
    process.stdout.write(`build ${d} (+ the small fault module): ${secs(ms)} (${(childCpuS() - cpu0).toFixed(1)} CPU s), ${ov.modules.length} modules; load ${load()}\n`);
    rmSync(ov.dir, { recursive: true, force: true });
  }
}

// 3. Boot to ready (seq-dummy): stock modules vs the overlay, memory debugging on vs off.
const ov = await vlab.buildOverlay({ release: kernel.release, sourceVersion: kernel.sourceVersion, patches: [patch] });
const bootTimes = { stock: [], overlay: [], 'stock, no memory debugging': [] };
const bootCpu = { stock: [], overlay: [], 'stock, no memory debugging': [] };
await vlab.bootGuest({ hw: 'seq-dummy', resolvedKernel: kernel }).then((g) => g.shutdown()); // warm-up
for (let i = 0; i < boots; i++) {
  for (const [label, opts] of [
    ['stock', {}],
    ['overlay', { overlay: ov }],
    ['stock, no memory debugging', { memoryDebug: false }],
  ]) {
    const g = await vlab.bootGuest({ hw: 'seq-dummy', resolvedKernel: kernel, ...opts });
    bootTimes[label].push(g.readyMs);
    bootCpu[label].push(qemuCpuS(g.qemuPid));
    await g.shutdown();
  }
  process.stdout.write(`boots ${i + 1}/${boots}: ${Object.entries(bootTimes).map(([k, v]) => `${k} ${secs(v[v.length - 1])} (QEMU ${bootCpu[k][bootCpu[k].length - 1].toFixed(1)} CPU s)`).join(', ')}; load ${load()}\n`);
}
rmSync(work, { recursive: true, force: true });

process.stdout.write('\nmedians\n');
if (cold.length) {
  for (const k of ['image', 'source', 'headers', 'build']) process.stdout.write(`  cold ${k}: ${secs(median(cold.map((c) => c[k])))}\n`);
  process.stdout.write(`  cold total (image + source + headers + build): ${secs(median(cold.map((c) => c.image + c.source + c.headers + c.build)))}\n`);
  process.stdout.write(`  cached overlay: ${median(cold.map((c) => c.cached))} ms\n`);
}
if (cold.length) process.stdout.write(`  cold build CPU: ${median(cold.map((c) => c.buildCpu)).toFixed(1)} s\n`);
for (const d of Object.keys(perDir)) process.stdout.write(`  build ${d}: ${secs(median(perDir[d]))} wall, ${median(perDirCpu[d]).toFixed(1)} CPU s\n`);
for (const [k, v] of Object.entries(bootTimes)) process.stdout.write(`  boot to ready, ${k}: ${secs(median(v))} wall, QEMU ${median(bootCpu[k]).toFixed(1)} CPU s until ready\n`);
