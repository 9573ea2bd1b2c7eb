// The app refuses a preset whose hardware the target lacks as the CLI does
// (app/cli/hardware-cli.test.ts), with the same words, and shows each preset's
// needs and variants.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPresetDir } from '../../app/engine/presets.js';
import { LabService } from './lab-service.js';

const tmp = mkdtempSync(join(tmpdir(), 'stresslab-hwreq-svc-'));
let service: LabService;
beforeAll(() => {
  service = new LabService({ mode: 'browser', runsDir: join(tmp, 'runs'), userPresetDir: join(tmp, 'presets'), builtinPresetDir: defaultPresetDir() });
});
afterAll(async () => {
  await service.close();
  rmSync(tmp, { recursive: true, force: true });
});
const client = { push() {}, pushEvents() {}, backlog: () => 0 };

describe('hardware needs in the app', () => {
  it('the app refuses the same way, with the same words, and lists variants and needs', async () => {
    await expect(service.call('run.start', { source: { preset: 'dpcm-route-change' }, target: 'vm', profile: ['fixed'], seed: 1 }, client)).rejects.toThrow(
      /dpcm-route-change needs hardware that the virtual lab with --hw dummy,aloop,seq-dummy,ac97,usb-audio,hda does not have:\n {2}card "SimSoC".*\n.*a variant that runs on vm: dpcm-route-change-ac97/s,
    );
    await expect(service.call('run.start', { source: { preset: 'detach-while-open-usb' }, target: 'sim', profile: ['fixed'], seed: 1 }, client)).rejects.toMatchObject({ code: 'bad-request' });
    const list = await service.call('presets.list', {}, client);
    expect(list.find((p) => p.name === 'dpcm-route-change-ac97')).toMatchObject({ variantOf: 'dpcm-route-change', needs: 'pcm I82801AAICH' });
    const v = await service.call('presets.validate', { text: (await service.call('presets.load', { name: 'dpcm-route-change' }, client)).text }, client);
    expect(v.outline?.needs).toEqual(['card "SimSoC" (soc-dpcm; playback; controls "Speaker Switch", "Headphone Switch")']);
  });
});
