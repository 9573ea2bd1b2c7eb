// Where a run's files go (--out, --junit, a report's --out), checked before
// the run starts so a bad path is a usage error (exit 2) rather than a stack
// trace halfway through, and the summary's reserved place, so a disk that
// fills up during the run still gets one.
import { closeSync, constants, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, statSync, statfsSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export class OutPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutPathError';
  }
}

/** Kernel pseudo-filesystems (statfs f_type): files written there are not files. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x1cd1: 'devpts',
  0xcafe4a11: 'bpf',
  0x62656570: 'configfs',
  0x6165676c: 'pstore',
  0xde5e81e4: 'efivarfs',
  0x42494e4d: 'binfmt_misc',
};

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENOENT':
      return 'no such file or directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return err.message ?? String(e);
  }
}

function nearestExisting(p: string): string {
  let cur = p;
  while (!existsSync(cur)) {
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

function refusePseudoFs(what: string, path: string): void {
  const anchor = nearestExisting(path);
  let type: number | undefined;
  try {
    type = statfsSync(anchor).type;
  } catch {
    return;
  }
  const name = PSEUDO_FS[type];
  if (name) throw new OutPathError(`${what} ${path}: ${anchor} is on a ${name} filesystem (kernel state, not a place for files)`);
}

/**
 * mkdir -p that never hangs: Node's recursive mkdir loops forever on some
 * paths under /proc (mkdir answers ENOENT, it retries the parent, ...), so the
 * components are made one at a time and the first failure is the answer.
 */
export function mkdirp(dir: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  let cur = abs;
  while (!existsSync(cur)) {
    missing.unshift(cur);
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue;
      throw new OutPathError(`cannot create ${d}: ${why(e)}`);
    }
  }
}

/** Writes and removes a small file in `dir`: the only honest test of "can I write here". */
function probe(what: string, dir: string, shown = dir): void {
  const f = join(dir, `.stresslab-probe-${process.pid}-${Date.now()}`);
  let fd = -1;
  try {
    fd = openSync(f, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    writeSync(fd, Buffer.alloc(4096));
    fsyncSync(fd);
  } catch (e) {
    throw new OutPathError(`${what} ${shown}: cannot write ${shown === dir ? 'there' : `in ${dir}`}: ${why(e)}`);
  } finally {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(f);
    } catch {
      /* never created */
    }
  }
}

/** A run's output directory: created if missing (with its parents), and shown to take files. */
export function prepareOutDir(dir: string, what = '--out'): string {
  const abs = resolve(dir);
  refusePseudoFs(what, abs);
  if (existsSync(abs) && !statSync(abs).isDirectory()) throw new OutPathError(`${what} ${abs}: exists and is not a directory`);
  try {
    mkdirp(abs);
  } catch (e) {
    if (e instanceof OutPathError) throw new OutPathError(`${what} ${abs}: ${e.message}`);
    throw e;
  }
  probe(what, abs);
  return abs;
}

/** A file to be written after the run (--junit, a report): its directory must exist and take files. */
export function checkOutFile(file: string, what: string): string {
  const abs = resolve(file);
  refusePseudoFs(what, abs);
  const dir = dirname(abs);
  if (!existsSync(dir)) throw new OutPathError(`${what} ${abs}: its directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new OutPathError(`${what} ${abs}: ${dir} is not a directory`);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new OutPathError(`${what} ${abs}: is a directory`);
  probe(what, dir, abs);
  return abs;
}

/** Writes a file whose place was checked beforehand; a failure now (disk full) is an OutPathError with a clear reason. */
export function writeOutFile(file: string, text: string, what: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    throw new OutPathError(`${what} ${file}: cannot write it: ${why(e)}`);
  }
}

/** Space held back for summary.json from the start of a run. */
export const SUMMARY_RESERVE = 256 * 1024;

/**
 * summary.json's place, claimed when the run starts: a file of
 * SUMMARY_RESERVE bytes next to the journal. Writing the summary overwrites
 * it in place (no new blocks needed, so a full disk does not stop it) and
 * renames it; a summary too big for it is written normally, and when that
 * fails, cut down to fit (its findings trimmed, said in it), or as a last
 * resort written to the temporary directory. write() says where it went.
 */
export class SummarySlot {
  private readonly reserve: string | null;

  constructor(readonly dir: string) {
    const r = join(dir, '.summary.reserve');
    try {
      writeFileSync(r, Buffer.alloc(SUMMARY_RESERVE, 0x20));
      this.reserve = r;
    } catch {
      // No room even for that: the fallback place will be used.
      try {
        unlinkSync(r);
      } catch {
        /* not created */
      }
      this.reserve = null;
    }
  }

  /** Writes the summary; returns where it went and whether it had to be cut down. */
  write(summary: { findings: unknown[] } & Record<string, unknown>, fallbackName: string): { path: string; trimmed: boolean } {
    const target = join(this.dir, 'summary.json');
    const text = JSON.stringify(summary, null, 2) + '\n';
    if (this.reserve && Buffer.byteLength(text) <= SUMMARY_RESERVE && this.overwrite(text)) return { path: target, trimmed: false };
    try {
      writeOutFile(target, text, 'summary');
      this.discard();
      return { path: target, trimmed: false };
    } catch {
      /* the disk is full: cut it down to fit the reserve */
    }
    if (this.reserve) {
      const cut = { ...summary, findings: summary.findings.slice(0, 50), trimmed: `summary cut down to fit the space reserved for it: the first 50 of ${summary.findings.length} findings; the journal has them all` };
      const small = JSON.stringify(cut) + '\n';
      if (Buffer.byteLength(small) <= SUMMARY_RESERVE && this.overwrite(small)) return { path: target, trimmed: true };
    }
    const elsewhere = join(tmpdir(), `stresslab-summary-${fallbackName}-${process.pid}.json`);
    writeFileSync(elsewhere, text);
    this.discard();
    return { path: elsewhere, trimmed: false };
  }

  private overwrite(text: string): boolean {
    let fd = -1;
    try {
      fd = openSync(this.reserve!, 'r+');
      const b = Buffer.from(text);
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off, off);
      ftruncateSync(fd, b.length);
      fsyncSync(fd);
      closeSync(fd);
      fd = -1;
      renameSync(this.reserve!, join(this.dir, 'summary.json'));
      return true;
    } catch {
      if (fd >= 0) closeSync(fd);
      return false;
    }
  }

  /** The reserve is not needed (the summary went elsewhere, or there is none to write). */
  discard(): void {
    if (!this.reserve) return;
    try {
      unlinkSync(this.reserve);
    } catch {
      /* renamed or never made */
    }
  }
}
