// electron-builder.yml cannot be exercised here (packaging downloads the
// Electron runtime), so its promises are checked against the tree: the
// targets, the app identity, the icon, the agent as an extra resource where
// main.ts looks for it, and native modules outside the asar.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { agentPaths } from '../../app/targets/agent/binary.js';

const repo = resolve(import.meta.dirname, '..', '..');
const cfg = parse(readFileSync(join(repo, 'electron-builder.yml'), 'utf8')) as Record<string, any>;

describe('electron-builder.yml', () => {
  it('builds a Linux AppImage and a deb with a proper identity and icon', () => {
    expect(cfg.appId).toMatch(/^[a-z]+(\.[a-z0-9-]+){2,}$/);
    expect(cfg.productName).toBe(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).productName);
    expect(cfg.linux.target).toEqual(['AppImage', 'deb']);
    expect(existsSync(join(repo, cfg.linux.icon))).toBe(true);
  });

  it('ships the native agent as an extra resource, where the main process looks for it', () => {
    const agent = cfg.extraResources.find((r: { to: string }) => r.to === 'agent/stresslab-agent');
    expect(agent.from).toBe(relative(repo, agentPaths(repo).bin));
    expect(readFileSync(join(repo, 'main', 'electron', 'main.ts'), 'utf8')).toContain("join(process.resourcesPath, 'agent', 'stresslab-agent')");
  });

  it('keeps native modules and what the worker threads load out of the asar', () => {
    expect(cfg.asar).toBe(true);
    expect(cfg.asarUnpack).toEqual(expect.arrayContaining(['**/*.node', 'dist/main/**', 'dist/app/**', 'presets/**']));
    for (const dep of Object.keys(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).dependencies)) expect(existsSync(join(repo, 'node_modules', dep))).toBe(true);
  });

  it('packages the entry point package.json names', () => {
    const main = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).main as string;
    expect(main).toBe('dist/main/electron/main.js');
    expect(cfg.files).toEqual(expect.arrayContaining(['dist/main/**', 'dist/renderer/**', 'presets/**']));
  });
});
