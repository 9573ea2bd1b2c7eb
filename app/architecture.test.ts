// Rules that keep the layers apart: app/ is the lab core and never imports
// Electron, the DOM, main/ or renderer/; the simulated kernel is pure and
// deterministic: no Node APIs, no wall clock, no Math.random.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = import.meta.dirname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
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

  it('the vocabulary and event types are usable anywhere (no Node modules)', () => {
    const bad: string[] = [];
    for (const dir of ['vocabulary', 'events', 'devices'])
      for (const f of sources(join(root, dir))) for (const i of imports(f)) if (i.startsWith('node:')) bad.push(`${relative(root, f)} imports ${i}`);
    expect(bad).toEqual([]);
  });
});
