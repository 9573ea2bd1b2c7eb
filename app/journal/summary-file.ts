// Reading summary.json back: it is checked like a journal line (lines.ts);
// one that is damaged or edited is set aside with a note, and the journal,
// which holds everything, speaks alone.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import type { RunSummary } from '../engine/run.js';
import { checkSummary } from './lines.js';

const MAX_SUMMARY = 64 * 1024 * 1024;

export function readSummaryFile(path: string): { summary: RunSummary | null; problem?: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { summary: null };
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_SUMMARY) return { summary: null, problem: `${path} is ${size} bytes, more than a summary can be; ignored` };
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (!n) break;
      off += n;
    }
    let v: unknown;
    try {
      v = JSON.parse(buf.toString('utf8', 0, off));
    } catch {
      return { summary: null, problem: `${path} is not JSON (cut short?); ignored` };
    }
    const r = checkSummary(v);
    return 'summary' in r ? { summary: r.summary } : { summary: null, problem: `${path} is damaged (${r.error}); ignored` };
  } finally {
    closeSync(fd);
  }
}
