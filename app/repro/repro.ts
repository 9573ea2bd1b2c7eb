// `stresslab repro`: one standalone C file from a resolved program. The file
// is the runtime (native-bridge/repro/runtime.c, with the agent's rules.h
// copied in) and the program as C (c-program.ts), under a header that says
// what it reproduces, where that was seen, and how to build and run it.
import type { Program } from '../program/types.js';
import { RULES_H, RUNTIME_C } from './c-sources.js';
import { cProgram, ReproError } from './c-program.js';
import { REAL_KERNEL_BUGS } from './real-kernels.js';
import { signatureFrames } from '../analysis/signature.js';

export { ReproError };

/** What is known about the program's origin, for the header. */
export interface ReproContext {
  program: Program;
  family?: string;
  description?: string;
  /** A preset compiled for a seed, or a recorded run (its journal). */
  origin: { kind: 'preset'; preset: string } | { kind: 'run'; journal: string; target: string; profile: string[] };
  /** The finding the reproducer is for. */
  finding?: { id: string; type: string; message: string; signature?: string };
  /** The kernel the run ran on: summary.json's "kernel" (virtual lab), or the simulated one. */
  kernel?: { release?: string; package?: string; source_version?: string; overlay?: unknown; origin?: string };
  /** Simulated kernel: the bug switches that were on, with what each puts back. */
  bugSwitches?: { name: string; summary: string }[];
  /** Minimised from a larger program: what it was. */
  minimizedFrom?: string;
  /** The file name the user will compile (for the build line). */
  file?: string;
}

function wrap(text: string, width = 88, indent = ' *   '): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.replace(/\s+/g, ' ').trim().split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      out.push(indent + line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(indent + line);
  return out;
}

function comment(s: string): string {
  return s.replace(/\*\//g, '* /');
}

function seenOn(c: ReproContext): string[] {
  const out: string[] = [];
  if (c.origin.kind === 'preset') {
    out.push(' * Where it was seen: not yet: written from a preset and seed; the lab\'s run of the same', ' *   program would say.');
    return out;
  }
  const o = c.origin;
  if (o.target === 'sim') {
    out.push(` * Where it was seen: the lab's simulated kernel (${c.kernel?.release ?? 'simulated'}), profile ${o.profile.join(',')}`);
    for (const b of c.bugSwitches ?? []) out.push(...wrap(`bug switch ${b.name}: ${b.summary}`));
  } else {
    const k = c.kernel;
    const what = k?.release ? `Linux ${k.release}${k.package ? ` (${k.package}${k.source_version ? `, Debian source ${k.source_version}` : ''})` : ''}` : 'a real kernel (its release was not recorded)';
    out.push(` * Where it was seen: ${what}, ${o.target === 'vm' ? 'in the virtual lab (QEMU)' : 'on the machine the lab ran on'}`);
    if (k?.overlay) {
      // the files given when the run recorded them; else the shipped patch of that name
      const patches = ((k.overlay as { patches?: { name?: string; file?: string }[] }).patches ?? []).flatMap((p) => (p.file ? [p.file] : p.name ? [`presets/patches/${p.name}`] : []));
      // the modules it ran with were rebuilt with these patches: the lab's way to boot the same kernel again
      if (patches.length && o.target === 'vm')
        out.push(...wrap(`the same kernel in the lab (stresslab run, vm): --target vm${k.package ? ` --kernel-version ${k.package.replace(/^linux-image-/, '').replace(/-amd64$/, '')}` : ''} ${patches.map((f) => `--kernel-patch ${f}`).join(' ')} (historic-bug patches: not fixes)`));
      out.push(...wrap(`module overlay: ${JSON.stringify(k.overlay)}`));
    }
  }
  out.push(...wrap(`run: ${o.journal}`));
  return out;
}

/** The comment at the top of a reproducer. */
export function reproHeader(c: ReproContext): string {
  const p = c.program;
  const file = c.file ?? `${p.name}-${p.seed}.c`;
  const bin = file.replace(/\.c$/, '');
  const lines: string[] = ['/*', ` * ${p.name}: a standalone reproducer written by Audio Stress Lab (stresslab repro).`, ' *'];
  lines.push(' * What it reproduces');
  if (c.family) lines.push(` *   family:    ${c.family}`);
  if (c.finding) {
    lines.push(...wrap(`${c.finding.type}: ${c.finding.message}`, 80, ' *              ').map((l, i) => (i ? l : ` *   finding:   ${l.slice(16)}`)));
    if (c.finding.signature) {
      lines.push(` *   signature: ${c.finding.signature}`);
      const fns = signatureFrames(c.finding.signature);
      if (fns.length) lines.push(` *   kernel:    ${fns[0]}()${fns.length > 1 ? `, called from ${fns.slice(1).join(' <- ')}` : ''}`);
    }
  } else lines.push(' *   finding:   none recorded; the program as the preset describes it');
  if (c.description) {
    lines.push(' *', ' * The scenario');
    lines.push(...wrap(c.description));
  }
  const real = c.family ? REAL_KERNEL_BUGS[c.family] : undefined;
  lines.push(' *', ...seenOn(c));
  if (real) lines.push(...wrap(`On real kernels: ${real.where}.`, 88, ' * '));
  lines.push(' *', ' * The program');
  lines.push(` *   preset ${p.name}, seed ${p.seed}, budget ${(p.duration / 1e9).toFixed(3)} s, hang bound ${(p.hangTimeout / 1e9).toFixed(3)} s`);
  lines.push(` *   lanes: ${p.lanes.map((l) => `${l.name}${l.iterations ? ` (${l.iterations}x)` : ''}`).join(', ') || 'none'}`);
  if (c.minimizedFrom) lines.push(...wrap(`minimised from ${c.minimizedFrom}`));
  lines.push(
    ' *   Each lane draws its random arguments from its own xoshiro128** generator seeded with',
    ' *   (seed, lane), as the lab does, so this file issues the same requests as the lab\'s run.',
    ' *   The run-time rules, barriers (fuzzy-sync) and at_period timing are the lab agent\'s own C',
    ' *   (native-bridge/agent/rules.h, native-bridge/repro/runtime.c).',
    ' *',
    ' * Build and run (as root: /dev/snd, /proc/<tid>/stack and /dev/kmsg need it)',
    ` *   gcc -O2 -Wall -Werror -pthread ${file} -o ${bin}`,
    ` *   ./${bin}            -d SECONDS: another budget; -v: every call; -T: each request as JSON`,
  );
  if (p.lanes.some((l) => l.steps.some((s) => s.op === 'device.detach')) || p.setup.steps.some((s) => s.op === 'device.detach'))
    lines.push(` *   ./${bin} -u         device.detach unbinds the card's driver through sysfs: -u allows it`);
  lines.push(
    ' *   Exit status 1: reproduced, and it says how (a torn HW_PARAMS readback; a lane stuck in one',
    ' *   call, with its /proc/<tid>/stack; a kernel report in /dev/kmsg). 0: nothing user space',
    ' *   could see in the budget. A thread stuck in the kernel can keep the process from exiting:',
    ' *   the verdict is printed first.',
  );
  return [...lines.map(comment), ' */'].join('\n') + '\n';
}

/** The whole C file. */
export function reproC(c: ReproContext): string {
  const program = cProgram(c.program);
  const rules = RULES_H.replace(/^#ifndef STRESSLAB_RULES_H\n#define STRESSLAB_RULES_H\n/m, '').replace(/\n#endif\n?$/, '\n');
  const [beforeRules, afterRules] = split(RUNTIME_C, /^#include "\.\.\/agent\/rules\.h".*\n/m, 'the rules include');
  const [beforeProgram, afterProgram] = split(afterRules, /^\/\* @repro:program \*\/\n/m, 'the program marker');
  return [
    reproHeader(c),
    beforeRules,
    '/* ==== the run-time rules: native-bridge/agent/rules.h, as the lab\'s agent compiles them ==== */\n',
    rules,
    '/* ==== the runtime: native-bridge/repro/runtime.c ==== */\n',
    beforeProgram,
    program,
    afterProgram,
  ].join('');
}

function split(text: string, re: RegExp, what: string): [string, string] {
  const m = re.exec(text);
  if (!m) throw new ReproError(`the repro runtime has lost ${what} (native-bridge/repro/runtime.c)`);
  return [text.slice(0, m.index), text.slice(m.index + m[0].length)];
}
