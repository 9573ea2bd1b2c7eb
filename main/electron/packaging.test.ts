// electron-builder.yml cannot be exercised here (packaging downloads the
// Electron runtime), so its promises are checked against the tree: the
// targets, the app identity, the icon, the agent as an extra resource where
// main.ts looks for it, and native modules outside the asar.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
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

describe('Electron fuses', () => {
  const require = createRequire(import.meta.url);

  it('are set in electron-builder.yml: no run-as-node, no NODE_OPTIONS, no inspector, ASAR integrity, app only from the asar', () => {
    expect(cfg.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('the configuration is one electron-builder accepts (its own schema check, as packaging runs it)', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as { validateConfiguration: (c: unknown, log: { isEnabled: boolean; add(): void }) => Promise<void> };
    await expect(validateConfiguration(cfg, { isEnabled: false, add() {} })).resolves.toBeUndefined();
    // And the check is real: a misspelt fuse is refused.
    await expect(validateConfiguration({ ...cfg, electronFuses: { runAsNod: false } }, { isEnabled: false, add() {} })).rejects.toThrow(/configuration\.electronFuses/);
  });

  it('flip a stand-in Electron binary as packaging would: read back, each fuse is what the configuration says', async () => {
    // electron-builder turns the yml into an @electron/fuses configuration (its own code, called
    // here) and flips the fuse wire that follows a sentinel in the binary. The real binary cannot
    // be downloaded here; a file with the sentinel and Electron's default wire stands in for it.
    const { PlatformPackager } = require('app-builder-lib') as { PlatformPackager: { prototype: { generateFuseConfig(f: unknown): Promise<Record<string, unknown>> } } };
    const fuses = require('@electron/fuses') as typeof import('@electron/fuses');
    const { SENTINEL, FuseState } = require('@electron/fuses/dist/constants.js') as { SENTINEL: string; FuseState: { ENABLE: number } };
    const config = await PlatformPackager.prototype.generateFuseConfig.call({}, cfg.electronFuses);
    const dir = mkdtempSync(join(tmpdir(), 'stresslab-fuses-'));
    try {
      const bin = join(dir, 'audio-stress-lab');
      // Version 1, 8 fuses, Electron's defaults: run-as-node on, cookie encryption off, NODE_OPTIONS on,
      // inspect on, asar integrity off, only-asar off, browser snapshot off, file:// privileges on.
      writeFileSync(bin, Buffer.concat([Buffer.alloc(4096, 7), Buffer.from(SENTINEL), Buffer.from([1, 8]), Buffer.from('10110001'), Buffer.alloc(4096, 7)]));
      await fuses.flipFuses(bin, config as Parameters<typeof fuses.flipFuses>[1]);
      const wire = await fuses.getCurrentFuseWire(bin);
      const O = fuses.FuseV1Options;
      const on = (o: number) => wire[o as keyof typeof wire] === FuseState.ENABLE;
      expect(on(O.RunAsNode)).toBe(false);
      expect(on(O.EnableNodeOptionsEnvironmentVariable)).toBe(false);
      expect(on(O.EnableNodeCliInspectArguments)).toBe(false);
      expect(on(O.EnableEmbeddedAsarIntegrityValidation)).toBe(true);
      expect(on(O.OnlyLoadAppFromAsar)).toBe(true);
      expect(on(O.GrantFileProtocolExtraPrivileges)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
