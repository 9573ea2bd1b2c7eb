// Rules that keep the layers apart: app/ is the lab core and never imports
// Electron, the DOM, main/ or renderer/; the simulated kernel is pure and
// deterministic: no Node APIs, no wall clock, no Math.random.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = import.meta.dirname;

function sources(dir: string, exts = ['.ts']): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === 'node_modules') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p, exts));
    else if (exts.some((x) => p.endsWith(x)) && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

describe('architecture', () => {
  it('app/ never imports Electron, main/ or renderer/', () => {
    const bad: string[] = [];
    const repo = resolve(root, '..');
    for (const f of sources(root))
      for (const i of imports(f)) {
        const target = i.startsWith('.') ? relative(repo, resolve(dirname(f), i)) : i;
        if (i === 'electron' || i.startsWith('electron/') || /^(main|renderer)\//.test(target)) bad.push(`${relative(root, f)} imports ${i}`);
      }
    expect(bad).toEqual([]);
  });

  it('app/ does not use the DOM', () => {
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.compilerOptions.lib.join()).not.toMatch(/dom/i);
  });

  it('the simulated kernel is pure: no Node modules, wall clock or Math.random', () => {
    const bad: string[] = [];
    for (const f of sources(join(root, 'sim'))) {
      const text = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '');
      for (const i of imports(f)) if (i.startsWith('node:') || !i.startsWith('.')) bad.push(`${relative(root, f)} imports ${i}`);
      for (const re of [/Math\.random/, /Date\.now|new Date\(/, /performance\.now/, /process\.hrtime/, /setTimeout|setInterval/]) if (re.test(text)) bad.push(`${relative(root, f)} uses ${re.source}`);
    }
    expect(bad).toEqual([]);
  });

  it('the virtual lab never imports the targets (they use it, not the other way round)', () => {
    const bad: string[] = [];
    for (const f of sources(join(root, 'vlab')))
      for (const i of imports(f)) if (i.startsWith('.') && relative(root, resolve(dirname(f), i)).startsWith('targets/')) bad.push(`${relative(root, f)} imports ${i}`);
    expect(bad).toEqual([]);
  });

  it('kernel profiles stay with the simulator: only app/sim and the simulator target import them', () => {
    const bad: string[] = [];
    const repo = resolve(root, '..');
    const allowed = (f: string) => /^app\/(sim|targets\/sim)\//.test(relative(repo, f));
    for (const dir of ['app', 'main', 'renderer/src'])
      for (const f of sources(join(repo, dir), ['.ts', '.svelte'])) {
        if (allowed(f)) continue;
        for (const i of imports(f)) if (i.startsWith('.') && relative(repo, resolve(dirname(f), i)) === 'app/sim/profiles.js') bad.push(`${relative(repo, f)} imports ${i}`);
      }
    expect(bad).toEqual([]);
  });

  it('the run seam carries only what every target understands', () => {
    // RunRequest: the program, the request-report switch, the stop signal, the event sink.
    const text = readFileSync(join(root, 'targets', 'target.ts'), 'utf8');
    const body = /export interface RunRequest \{([\s\S]*?)\n\}/.exec(text)![1]!;
    const fields = [...body.matchAll(/^\s{2}(\w+)\??[:(]/gm)].map((m) => m[1]);
    expect(fields).toEqual(['program', 'reportRequests', 'signal', 'emit']);
  });

  it('the vocabulary and event types are usable anywhere (no Node modules)', () => {
    const bad: string[] = [];
    for (const dir of ['vocabulary', 'events', 'devices'])
      for (const f of sources(join(root, dir))) for (const i of imports(f)) if (i.startsWith('node:')) bad.push(`${relative(root, f)} imports ${i}`);
    expect(bad).toEqual([]);
  });
});
