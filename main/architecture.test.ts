// The dependency direction of the front ends:
//   renderer → app/api ← main → app
// The renderer imports nothing of app/ but app/api (the typed contract), and
// nothing of main/ or Node; app/api imports no Node module and, at run
// time, nothing outside itself; main/ never imports the renderer; code that
// is not Electron's own (the server, the service, the workers) never imports
// Electron, so the headless server runs on plain Node.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..');

function sources(dir: string, exts = /\.(ts|cts|svelte)$/): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p, exts));
    else if (exts.test(p) && !/\.(test|spec)\.ts$/.test(p)) out.push(p);
  }
  return out;
}

interface Import {
  spec: string;
  /** Repository-relative path for relative imports. */
  target: string | null;
  typeOnly: boolean;
}

function imports(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?\s*from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    const spec = (m[3] ?? m[4] ?? m[5] ?? m[6])!;
    out.push({ spec, target: spec.startsWith('.') ? relative(repo, resolve(dirname(file), spec)) : null, typeOnly: Boolean(m[2]) });
  }
  return out;
}

const rel = (f: string) => relative(repo, f);

describe('front-end architecture', () => {
  it('renderer imports only itself, app/api and browser packages', () => {
    const bad: string[] = [];
    for (const f of sources(join(repo, 'renderer'))) {
      for (const i of imports(f)) {
        if (i.target) {
          if (!i.target.startsWith('renderer/') && !i.target.startsWith('app/api/')) bad.push(`${rel(f)} imports ${i.spec}`);
        } else if (i.spec.startsWith('node:') || i.spec === 'electron' || i.spec === 'ws' || /^(fs|path|child_process|os|worker_threads)$/.test(i.spec)) {
          if (!rel(f).endsWith('vite.config.ts')) bad.push(`${rel(f)} imports ${i.spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('app/api runs anywhere: no Node, no DOM, and at run time nothing outside app/api', () => {
    const bad: string[] = [];
    for (const f of sources(join(repo, 'app', 'api'))) {
      for (const i of imports(f)) {
        if (!i.target) bad.push(`${rel(f)} imports package ${i.spec}`);
        else if (!i.target.startsWith('app/api/') && !i.typeOnly) bad.push(`${rel(f)} imports ${i.spec} at run time`);
      }
      if (/\b(document|window|localStorage|process)\./.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''))) bad.push(`${rel(f)} touches the DOM or process`);
    }
    expect(bad).toEqual([]);
  });

  it('app/report depends only on the lab core (no Electron, no DOM, no main/)', () => {
    const bad: string[] = [];
    for (const f of sources(join(repo, 'app', 'report')))
      for (const i of imports(f)) if (!i.target?.startsWith('app/')) bad.push(`${rel(f)} imports ${i.spec}`);
    expect(bad).toEqual([]);
  });

  it('main/ never imports the renderer, and only main/electron imports Electron', () => {
    const bad: string[] = [];
    for (const f of sources(join(repo, 'main'))) {
      for (const i of imports(f)) {
        if (i.target?.startsWith('renderer/')) bad.push(`${rel(f)} imports ${i.spec}`);
        if ((i.spec === 'electron' || i.spec.startsWith('electron/')) && !rel(f).startsWith('main/electron/')) bad.push(`${rel(f)} imports electron`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the renderer is type-checked without Node types and with the DOM', () => {
    const ts = JSON.parse(readFileSync(join(repo, 'renderer', 'tsconfig.json'), 'utf8'));
    expect(ts.compilerOptions.types).toEqual([]);
    expect(ts.compilerOptions.lib.join()).toMatch(/DOM/);
  });

  it('the rules see the imports they police (self-check)', () => {
    expect(imports(join(repo, 'main', 'cli.ts')).map((i) => i.target)).toContain('app/cli/main.js');
    expect(sources(join(repo, 'renderer')).some((f) => f.endsWith('.svelte'))).toBe(true);
    expect(imports(join(repo, 'app', 'api', 'types.ts')).every((i) => i.typeOnly)).toBe(true);
  });
});
