// Kernel patches for module overlays (--kernel-patch FILE): unified diffs
// against the source root (a/sound/..., b/sound/...), as `git diff` and
// `diff -ru` write them. Checked before anything is built: every file a
// patch touches must be under sound/ (an overlay rebuilds sound modules; a
// change anywhere else would need a new kernel), and applied with GNU patch
// so a hunk that does not fit is named with its file, number and header.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { VlabInputError } from './errors.js';
import { requireTool } from './tools.js';
import { execHost } from './exec-host.js';

/** Bad overlay input (a patch outside sound/, one that does not apply, no source for the kernel): exit 2. */
export class OverlayInputError extends VlabInputError {
  constructor(message: string) {
    super(message);
    this.name = 'OverlayInputError';
  }
}

export interface PatchHunk {
  /** "@@ -120,7 +120,9 @@ int snd_seq_fifo_event_in(...)" */
  header: string;
}

export interface PatchedFile {
  /** Path below the source root, "sound/core/seq/seq_fifo.c". */
  path: string;
  hunks: PatchHunk[];
}

export interface KernelPatch {
  /** Absolute path of the patch file. */
  file: string;
  name: string;
  sha256: string;
  files: PatchedFile[];
}

/** "a/sound/x.c\t2024-..." → "sound/x.c"; /dev/null stays. */
function stripPath(raw: string): string {
  const p = raw.split('\t')[0]!.trim().replace(/^"(.*)"$/, '$1');
  if (p === '/dev/null') return p;
  const slash = p.indexOf('/');
  return slash >= 0 ? p.slice(slash + 1) : p;
}

/** The files and hunks of a unified diff (-p1 paths). */
export function parsePatch(text: string): PatchedFile[] {
  const files: PatchedFile[] = [];
  const lines = text.split('\n');
  let cur: PatchedFile | undefined;
  const extra = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const git = /^(?:rename|copy) (?:from|to) (.+)$/.exec(l);
    if (git) extra.add(git[1]!.trim());
    if (l.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const from = stripPath(l.slice(4));
      const to = stripPath(lines[i + 1]!.slice(4));
      cur = { path: to === '/dev/null' ? from : to, hunks: [] };
      files.push(cur);
      if (from !== '/dev/null' && from !== cur.path) extra.add(from);
      i++;
      continue;
    }
    if (cur && l.startsWith('@@ ')) cur.hunks.push({ header: l.trim() });
  }
  for (const p of extra) if (!files.some((f) => f.path === p)) files.push({ path: p, hunks: [] });
  return files;
}

/** Why a path may not be patched by an overlay, or undefined. */
export function outsideSound(path: string): string | undefined {
  const parts = path.split('/');
  if (path.startsWith('/') || parts.includes('..') || parts.includes('.')) return `${path} is not a plain path below the source root`;
  if (parts[0] !== 'sound' || parts.length < 2) return `${path} is outside sound/`;
  return undefined;
}

/** Reads and checks one patch file. */
export function readPatch(file: string): KernelPatch {
  const path = resolve(file);
  let data: Buffer;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    data = readFileSync(path);
  } catch (e) {
    throw new OverlayInputError(`kernel patch not found or unreadable: ${file} (${(e as Error).message})`);
  }
  const files = parsePatch(data.toString('utf8'));
  if (!files.length) throw new OverlayInputError(`${file} is not a unified diff (no "--- a/…" / "+++ b/…" lines)`);
  for (const f of files) {
    const why = outsideSound(f.path);
    if (why) throw new OverlayInputError(`kernel patch ${file} touches ${f.path}: an overlay rebuilds sound modules only, so every file it patches must be under sound/ (${why})`);
  }
  return { file: path, name: basename(path), sha256: createHash('sha256').update(data).digest('hex'), files };
}

/** The failures GNU patch reports, per file: "Hunk #2 FAILED at 130." */
export function patchFailures(output: string): { file: string; hunk?: number; line?: number; why: string }[] {
  const out: { file: string; hunk?: number; line?: number; why: string }[] = [];
  let file = '?';
  for (const l of output.split('\n')) {
    const pf = /^(?:patching|checking) file '?([^']+?)'?$/.exec(l.trim());
    if (pf) {
      file = pf[1]!;
      continue;
    }
    const h = /^Hunk #(\d+) FAILED at (\d+)/.exec(l.trim());
    if (h) out.push({ file, hunk: Number(h[1]), line: Number(h[2]), why: 'FAILED' });
    else if (/Reversed \(or previously applied\) patch detected/.test(l)) out.push({ file, why: 'already applied (or reversed) in this source' });
    else if (/can't find file to patch|No file to patch/.test(l)) out.push({ file, why: 'no such file in this source' });
  }
  return out;
}

/** Applies `p` to the tree at `root` (which has sound/ below it); throws OverlayInputError naming file and hunk. */
export function applyPatch(p: KernelPatch, root: string, sourceLabel: string, signal?: AbortSignal): Promise<void> {
  const bin = requireTool('patch', 'apply kernel patches');
  return new Promise((resolvePromise, reject) => {
    // No fuzz: every context line must match, as with git apply. A patch is for
    // exactly this source; a hunk that only fits loosely could change other code.
    execHost(bin, ['-p1', '--batch', '--forward', '--fuzz=0', '--no-backup-if-mismatch', '-r', '-', '-d', root, '-i', p.file], { maxBuffer: 16 << 20, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (!err) return resolvePromise();
      if (signal?.aborted) return reject(err);
      const text = `${stdout}\n${stderr}`;
      const fails = patchFailures(text);
      if (!fails.length) return reject(new OverlayInputError(`kernel patch ${p.name} does not apply to ${sourceLabel}:\n${text.trim().split('\n').slice(-6).join('\n')}`));
      const lines = fails.map((f) => {
        const hunk = f.hunk !== undefined ? p.files.find((x) => x.path === f.file)?.hunks[f.hunk - 1]?.header : undefined;
        return f.hunk !== undefined ? `${f.file}: hunk #${f.hunk}${hunk ? ` (${hunk})` : ''} FAILED at line ${f.line}` : `${f.file}: ${f.why}`;
      });
      reject(new OverlayInputError(`kernel patch ${p.file} does not apply to ${sourceLabel}:\n  ${lines.join('\n  ')}`));
    });
  });
}
