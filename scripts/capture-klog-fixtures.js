#!/usr/bin/env node
// Captures what stock Debian kernels print about memory errors, for the
// kernel-log classifier's fixtures (app/analysis/fixtures/klog/guest-*.txt):
// boots a virtual-lab guest with the memory-debugging boot options, loads
// native-bridge/vlab/faults/lab_faults.ko (built against the kernel's headers
// as a module overlay's extra directory) with one fault, and writes the
// kernel log the fault produced (or the panic's console text) verbatim.
//
//   node scripts/build.js --ts
//   node scripts/capture-klog-fixtures.js [--kernel-version V] [--out DIR] [FAULT...]
//
// FAULT: uaf-write uaf-read double-free list-del-twice list-del-freed
// list-add-freed kfence-uaf null-irq (default: all but kfence-uaf, which needs
// a kernel with KFENCE: --kernel-version 6.12.117+deb12 kfence-uaf).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { bootGuest, prepareBoot } = await import(join(root, 'dist', 'app', 'vlab', 'index.js'));

const ALL = ['uaf-write', 'uaf-read', 'double-free', 'list-del-twice', 'list-del-freed', 'list-add-freed', 'null-irq'];
const args = process.argv.slice(2);
let kernelVersion;
let out = join(root, 'app', 'analysis', 'fixtures', 'klog');
const faults = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--kernel-version') kernelVersion = args[++i];
  else if (args[i] === '--out') out = args[++i];
  else faults.push(args[i]);
}

const log = (l) => process.stderr.write(l + '\n');
const prepared = await prepareBoot({
  hw: 'dummy',
  ...(kernelVersion ? { kernelVersion } : {}),
  overlay: { extraModuleDirs: [join(root, 'native-bridge', 'vlab', 'faults')] },
  log,
});
const ko = prepared.overlay.modules.find((m) => m.name === 'lab_faults').file;
const stamp = (us) => `[${String(Math.floor(us / 1e6)).padStart(5)}.${String(us % 1e6).padStart(6, '0')}]`;

for (const fault of faults.length ? faults : ALL) {
  const guest = await bootGuest({ ...prepared, log });
  try {
    const cp = await guest.checkpoint();
    const consoleLines = [];
    guest.on('console', (l) => consoleLines.push(l));
    log(`${fault}: ${guest.kernel.release} (${guest.memoryDebug.on.join(' ')})`);
    const r = await guest.run('insmod', [ko, `fault=${fault}`], { timeoutMs: 60_000 }).catch((e) => ({ code: null, signal: String(e.message), stdout: '', stderr: '' }));
    log(`  insmod: code ${r.code} signal ${r.signal} ${r.stderr.trim()}`);
    // A late write into freed memory is found when SLUB next checks the object: ask it to now.
    if (fault === 'uaf-write' && guest.alive) await guest.run('sh', ['-c', 'for f in /sys/kernel/slab/kmalloc-*/validate; do echo 1 > $f; done'], { timeoutMs: 60_000 });
    await new Promise((res) => setTimeout(res, 3000));
    let lines;
    if (guest.alive) {
      await guest.checkpoint();
      lines = guest.klogSince(cp).map((rec) => `${stamp(rec.tsUs)} ${rec.text}`);
    } else {
      // The serial console has the whole crash, the part the dying guest could not send included.
      await guest.ended;
      lines = consoleLines;
    }
    const start = lines.findIndex((l) => l.includes('lab_faults: committing'));
    const body = lines.slice(start >= 0 ? start : 0).filter((l) => l.trim());
    const file = join(out, `guest-${fault}-${guest.kernel.release}.txt`);
    writeFileSync(file, body.join('\n') + '\n');
    log(`  ${body.length} lines -> ${file}`);
  } finally {
    await guest.shutdown();
  }
}
