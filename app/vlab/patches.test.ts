// Kernel patches for module overlays: what they touch, refused outside
// sound/, and a hunk that does not fit named by file, number and header.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPatch, OverlayInputError, parsePatch, patchFailures, readPatch } from './patches.js';

const dir = mkdtempSync(join(tmpdir(), 'vlab-patch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIFO = ['/* enqueue event to fifo */', 'int snd_seq_fifo_event_in(struct snd_seq_fifo *f,', '\t\t\t  struct snd_seq_event *event)', '{', '\tstruct snd_seq_event_cell *cell;', '\tint err;', ''].join('\n');

const GOOD = `diff --git a/sound/core/seq/seq_fifo.c b/sound/core/seq/seq_fifo.c
index 1111111..2222222 100644
--- a/sound/core/seq/seq_fifo.c
+++ b/sound/core/seq/seq_fifo.c
@@ -1,4 +1,5 @@ 
 /* enqueue event to fifo */
+/* lab */
 int snd_seq_fifo_event_in(struct snd_seq_fifo *f,
 \t\t\t  struct snd_seq_event *event)
 {
`;

function tree(): string {
  const root = mkdtempSync(join(dir, 'src-'));
  mkdirSync(join(root, 'sound', 'core', 'seq'), { recursive: true });
  writeFileSync(join(root, 'sound', 'core', 'seq', 'seq_fifo.c'), FIFO);
  return root;
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('kernel patches', () => {
  it('lists the files and hunks a unified diff touches (git and diff -u, new files, renames)', () => {
    expect(parsePatch(GOOD)).toEqual([{ path: 'sound/core/seq/seq_fifo.c', hunks: [{ header: '@@ -1,4 +1,5 @@' }] }]);
    const newFile = '--- /dev/null\n+++ b/sound/drivers/lab.c\n@@ -0,0 +1 @@\n+x\n';
    expect(parsePatch(newFile).map((f) => f.path)).toEqual(['sound/drivers/lab.c']);
    const rename = 'diff --git a/sound/a.c b/include/b.c\nsimilarity index 100%\nrename from sound/a.c\nrename to include/b.c\n';
    expect(parsePatch(rename).map((f) => f.path).sort()).toEqual(['include/b.c', 'sound/a.c']);
  });

  it('refuses a patch touching anything outside sound/, and a file that is not a diff', () => {
    const outside = file('outside.patch', GOOD.replace(/sound\/core\/seq\/seq_fifo\.c/g, 'include/sound/seq_kernel.h'));
    expect(() => readPatch(outside)).toThrow(OverlayInputError);
    expect(() => readPatch(outside)).toThrow(/touches include\/sound\/seq_kernel\.h: an overlay rebuilds sound modules only/);
    expect(() => readPatch(file('escape.patch', GOOD.replace(/sound\/core\/seq\/seq_fifo\.c/g, 'sound/../kernel/fork.c')))).toThrow(/not a plain path/);
    expect(() => readPatch(file('notes.txt', 'just text\n'))).toThrow(/is not a unified diff/);
    expect(() => readPatch(join(dir, 'missing.patch'))).toThrow(/kernel patch not found or unreadable/);
    const ok = readPatch(file('good.patch', GOOD));
    expect(ok).toMatchObject({ name: 'good.patch', files: [{ path: 'sound/core/seq/seq_fifo.c' }] });
    expect(ok.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('applies with GNU patch; a hunk that does not fit is named with its file, number, header and line', async () => {
    const root = tree();
    await applyPatch(readPatch(file('good.patch', GOOD)), root, 'linux-source-6.1 6.1.190-1');
    expect(readFileSync(join(root, 'sound', 'core', 'seq', 'seq_fifo.c'), 'utf8')).toMatch(/\/\* lab \*\//);
    const bad = readPatch(file('bad.patch', GOOD.replace(' int snd_seq_fifo_event_in(', ' int snd_seq_fifo_event_XX(')));
    const err = await applyPatch(bad, tree(), 'linux-source-6.1 6.1.190-1').catch((e: Error) => e);
    expect(err).toBeInstanceOf(OverlayInputError);
    expect((err as Error).message).toBe(`kernel patch ${bad.file} does not apply to linux-source-6.1 6.1.190-1:\n  sound/core/seq/seq_fifo.c: hunk #1 (@@ -1,4 +1,5 @@) FAILED at line 1`);
    // applied twice: already in this source
    const twice = await applyPatch(readPatch(file('good.patch', GOOD)), root, 'x').catch((e: Error) => e);
    expect((twice as Error).message).toMatch(/sound\/core\/seq\/seq_fifo\.c: already applied \(or reversed\) in this source/);
  });

  it("reads GNU patch's failure lines", () => {
    expect(patchFailures("patching file sound/core/seq/seq_fifo.c\nHunk #2 FAILED at 130.\n1 out of 2 hunks FAILED -- saving rejects to file -\n")).toEqual([{ file: 'sound/core/seq/seq_fifo.c', hunk: 2, line: 130, why: 'FAILED' }]);
    expect(patchFailures("can't find file to patch at input line 3\n")).toEqual([{ file: '?', why: 'no such file in this source' }]);
  });
});
