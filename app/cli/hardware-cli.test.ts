// One preset, every target, from the command line and from the app's service:
// a preset whose hardware the target lacks is refused before anything boots
// or runs (exit 2; the app's service: main/service/hardware-needs.test.ts), naming what is
// missing and what has it; the variants are listed under their family and run
// by name.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildTypescript } from '../test/build-first.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-hwreq-'));
beforeAll(buildTypescript, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('hardware needs on the command line', () => {
  it('run dpcm-route-change --target vm: exit 2 before the guest boots, naming the SoC card and the variant for the lab', () => {
    const out = join(tmp, 'dpcm-vm');
    const r = cli('run', 'dpcm-route-change', '--target', 'vm', '--out', out);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/stresslab run: dpcm-route-change needs hardware that the virtual lab with --hw dummy,aloop,seq-dummy,ac97,usb-audio,hda does not have:\n {2}card "SimSoC" \(soc-dpcm; playback; controls "Speaker Switch", "Headphone Switch"\): no soc-dpcm card\n {2}the virtual lab has it with --hw dummy,aloop,seq-dummy,ac97,usb-audio,hda,dpcm\n/);
    expect(r.err).toMatch(/a variant that runs on vm: dpcm-route-change-ac97/);
    expect(existsSync(out)).toBe(false);
  });

  it('run detach-while-open-usb --target vm --hw dummy: exit 2 naming the --hw that has the card', () => {
    const r = cli('run', 'detach-while-open-usb', '--target', 'vm', '--hw', 'dummy');
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/card "Audio" \(usb; playback; controls "Audio Output Volume Control Playback Volume"\): no usb card/);
    expect(r.err).toMatch(/the virtual lab has it with --hw dummy,usb-audio/);
  });

  it('a variant runs by name where its hardware is, and is refused on the simulated kernel with the preset that runs there', () => {
    const ok = cli('run', 'stop-close-race-vm', '--duration', '2ms', '--quiet', '--out', join(tmp, 'scr-vm'));
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^PASS: stop-close-race-vm on sim/);
    const no = cli('run', 'dpcm-route-change-ac97', '--out', join(tmp, 'ac97-sim'));
    expect(no.code).toBe(2);
    expect(no.err).toMatch(/card "I82801AAICH" \(pcm; playback\+capture; controls "Capture Source", "Master Playback Switch"\): no card of that name/);
    expect(no.err).toMatch(/the virtual lab has it: --target vm/);
    expect(no.err).toMatch(/variants that run on sim: dpcm-route-change, dpcm-route-change-stressdpcm \(stresslab run dpcm-route-change --target sim\)/);
  });

  it('presets: each variant under its family with what every preset needs', () => {
    const r = cli('presets');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^dpcm-route-change +dpcm-route-change .*\n +needs: soc-dpcm SimSoC\n {2}dpcm-route-change-ac97 +variant of dpcm-route-change .*\n +needs: pcm I82801AAICH\n/m);
    expect(r.out).toMatch(/^ {2}detach-while-open-usb +variant of detach-while-open/m);
    expect(r.out).toMatch(/^ {2}stop-close-race-vm +variant of stop-close-race/m);
    const j = JSON.parse(cli('presets', '--json').out) as { name: string; variantOf?: string; requires?: unknown }[];
    expect(j.find((p) => p.name === 'detach-while-open-usb')).toMatchObject({ variantOf: 'detach-while-open', requires: { cards: [{ card: 'Audio', kind: 'usb' }] } });
  });

});
