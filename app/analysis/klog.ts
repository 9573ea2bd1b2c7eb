// Classifying kernel log lines and grouping them into reports. Works on the
// simulated kernel's log and on real kernels' /dev/kmsg alike: the patterns
// are the format strings of mm/kasan/report.c, arch/x86/mm/fault.c,
// kernel/panic.c, lib/bug.c and kernel/hung_task.c, old and new variants.
import type { FindingType } from '../events/types.js';

export type KlogClass = FindingType | 'alsa-error';

export interface HeaderMatch {
  type: FindingType;
  /** The function or location the report names. */
  where: string;
  summary: string;
  /**
   * Reports whose culprit is in their call trace rather than on their first
   * line, and whose follow-up lines look like new reports: SLUB debug
   * ("BUG kmalloc-128 (...): Object already free", then "Wrong object count"
   * about the same cache), list debugging ("list_del corruption ...", then
   * "kernel BUG at lib/list_debug.c"), KFENCE.
   */
  family?: 'slub' | 'list' | 'kfence';
  /** SLUB: the cache the report is about (kmalloc-128). */
  cache?: string;
}

/**
 * LIST_POISON1/2 (0xdead000000000100/0x122, plus a field offset): a fault
 * there means a list entry was used after list_del(), i.e. after it was
 * unlinked to be freed. That is the use-after-free class even when KASAN
 * never sees the freed memory (the entry was unlinked but not yet freed).
 */
const LIST_POISON = /^(?:0x)?dead0000000001[0-9a-f]{2}$|^(?:0x)?dead0000000000[0-9a-f]{2}$/;

/**
 * SLUB's poison for freed objects (POISON_FREE 0x6b in every byte): with
 * slub_debug=P a pointer read from a freed object is 0x6b6b6b6b6b6b6b6b, and
 * following it (to a field: plus an offset) faults on a non-canonical
 * address. That is a read through freed memory: use-after-free.
 */
const SLAB_POISON = 0x6b6b6b6b6b6b6b6bn;

export function isSlabPoison(addr: string): boolean {
  const hex = addr.replace(/^0x/, '');
  if (!/^[0-9a-f]{16}$/i.test(hex)) return false;
  const d = BigInt(`0x${hex}`) - SLAB_POISON;
  return d >= -0x1000n && d < 0x10000n;
}

function faultAt(addr: string, what: string): HeaderMatch {
  if (LIST_POISON.test(addr)) return { type: 'use-after-free', where: '', summary: `use of a deleted list entry: ${what} at ${addr} (LIST_POISON)` };
  if (isSlabPoison(addr)) return { type: 'use-after-free', where: '', summary: `use of freed memory: ${what} at ${addr} (slab poison 0x6b6b6b6b6b6b6b6b)` };
  return { type: 'kernel-oops', where: '', summary: `${what} at ${addr}` };
}

/**
 * lib/list_debug.c's reports, summarised without their addresses (so the
 * same bug reads the same in every run). A pointer found where a live one
 * should be that is LIST_POISON means the entry was already unlinked; slab
 * poison means a neighbour was freed: both are the use-after-free class.
 */
function listCorruption(line: string, found: string | undefined): HeaderMatch {
  const op = /^list_(del|add)/.exec(line)?.[1] ?? 'del';
  const field = /(\w+->\w+|\b(?:next|prev)\b)(?: should be| is)/.exec(line)?.[1]?.replace(/^\w+->/, (x) => (x.length > 8 ? 'entry->' : x)) ?? '';
  if (found && LIST_POISON.test(found)) {
    return { type: 'use-after-free', where: '', summary: `list_${op} corruption: ${field} is LIST_POISON (the entry was already deleted)`, family: 'list' };
  }
  if (found && isSlabPoison(found)) {
    return { type: 'use-after-free', where: '', summary: `list_${op} corruption: ${field} was ${found} (slab poison: a linked entry was freed)`, family: 'list' };
  }
  if (/is NULL/.test(line)) return { type: 'kernel-bug', where: '', summary: `list_${op} corruption: ${field} is NULL`, family: 'list' };
  return { type: 'kernel-bug', where: '', summary: `list_${op} corruption: ${field}${found ? ` was ${found}` : ''} (concurrent list change?)`, family: 'list' };
}

function slubReport(cache: string, problem: string): HeaderMatch {
  const p = problem.trim();
  if (!cache) {
    // the cache comes with the "BUG <cache> (...): Object corrupt" line that follows
    const r = slubReport('?', p);
    return { ...r, cache: '' };
  }
  if (/^Poison overwritten/.test(p)) return { type: 'use-after-free', where: '', summary: `SLUB: ${p} in ${cache} (written after free)`, family: 'slub', cache };
  if (/^Object already free/.test(p)) return { type: 'use-after-free', where: '', summary: `SLUB: ${p} in ${cache} (double free)`, family: 'slub', cache };
  if (/Redzone overwritten/.test(p)) return { type: 'kernel-bug', where: '', summary: `SLUB: ${p} in ${cache} (out-of-bounds write)`, family: 'slub', cache };
  return { type: 'kernel-bug', where: '', summary: `SLUB: ${p} in ${cache}`, family: 'slub', cache };
}

const HEADERS: [RegExp, (m: RegExpExecArray) => HeaderMatch][] = [
  // mm/kfence/report.c: "BUG: KFENCE: use-after-free read in f+0x../0x..", "invalid free", "out-of-bounds write", "memory corruption"
  [
    /^BUG: KFENCE: (use-after-free|out-of-bounds|invalid free|memory corruption|invalid)(?: (read|write))? in (\S+)/,
    (m) => ({
      type: /use-after-free|invalid free/.test(m[1]!) ? 'use-after-free' : 'kernel-bug',
      where: m[3]!,
      summary: `KFENCE: ${m[1]}${m[2] ? ` ${m[2]}` : ''} in ${m[3]}`,
      family: 'kfence',
    }),
  ],
  // mm/slub.c slab_bug(): "BUG kmalloc-128 (Tainted: G  OE ): Poison overwritten"
  [/^BUG ([\w.:-]+) \((?:Not tainted|Tainted: [^)]*)\): (.+)$/, (m) => slubReport(m[1]!, m[2]!)],
  // 6.12 names the damage on a line of its own before "BUG kmalloc-128 (...): Object corrupt"
  [/^\[((?:Poison|Left Redzone|Right Redzone|Redzone|Object padding) overwritten)\] /, (m) => slubReport('', m[1]!)],
  // lib/list_debug.c (6.1 and 6.12 wordings)
  [/^list_(?:del|add) corruption, \S+->(?:next|prev) is (?:LIST_POISON\d \((\S+)\)|NULL)/, (m) => listCorruption(m.input, m[1])],
  [/^list_(?:del|add) corruption\. .*?, but was (\S+?)\.?(?: \(|$)/, (m) => listCorruption(m.input, m[1])],
  [/^list_(?:del|add) corruption/, (m) => listCorruption(m.input, undefined)],
  [/^list_add double add: /, (m) => ({ type: 'kernel-bug', where: '', summary: m.input.replace(/: new=.*$/, ': the entry was already on the list'), family: 'list' })],
  [/^BUG: KASAN: ([\w-]+) in (\S+)/, (m) => ({ type: /use-after-free|double-free|invalid-free/.test(m[1]!) ? 'use-after-free' : 'kernel-bug', where: m[2]!, summary: `KASAN: ${m[1]} in ${m[2]}` })],
  [/^BUG: kernel NULL pointer dereference, address: ([0-9a-fx]+)/, (m) => ({ type: 'null-deref', where: '', summary: `NULL pointer dereference at ${m[1]}` })],
  [/^BUG: unable to handle kernel NULL pointer dereference at ([0-9a-fx]+)/, (m) => ({ type: 'null-deref', where: '', summary: `NULL pointer dereference at ${m[1]}` })],
  [/^BUG: unable to handle (?:kernel )?page fault for address:? ?([0-9a-fx]+)/, (m) => faultAt(m[1]!, 'page fault')],
  [/^Unable to handle kernel paging request at virtual address ([0-9a-fx]+)/, (m) => faultAt(m[1]!, 'paging request')],
  [/^(?:Oops: )?general protection fault, probably for non-canonical address (0x[0-9a-f]+)/, (m) => faultAt(m[1]!, 'general protection fault')],
  [/^(?:Oops: )?general protection fault/, () => ({ type: 'kernel-oops', where: '', summary: 'general protection fault' })],
  [/^kernel BUG at ([^!]+)!/, (m) => ({ type: 'kernel-bug', where: m[1]!, summary: `kernel BUG at ${m[1]}` })],
  [/^(?:watchdog: )?BUG: (soft lockup|scheduling while atomic|sleeping function called from invalid context|workqueue lockup|spinlock \w+|Bad page state|unable to handle [^:]*)(.*)/, (m) => ({ type: 'kernel-bug', where: '', summary: `BUG: ${m[1]}${m[2] ?? ''}`.trim() })],
  [/^BUG: (?!KASAN)(.+)/, (m) => ({ type: 'kernel-bug', where: '', summary: `BUG: ${m[1]}` })],
  [/^WARNING: CPU: \d+ PID: \d+ at (\S+) (\S+)/, (m) => ({ type: 'kernel-warning', where: m[2]!, summary: `WARNING at ${m[1]} in ${m[2]}` })],
  [/^WARNING: (\S+:\d+) at (\S+), CPU#\d+/, (m) => ({ type: 'kernel-warning', where: m[2]!, summary: `WARNING at ${m[1]} in ${m[2]}` })],
  [/^INFO: task (\S+):(\d+) blocked for more than (\d+) seconds/, (m) => ({ type: 'hung-task', where: m[1]!, summary: `task ${m[1]}:${m[2]} blocked for more than ${m[3]} seconds` })],
  [/^INFO: rcu_\w+ (?:self-)?detected stalls?/, () => ({ type: 'kernel-bug', where: '', summary: 'RCU stall' })],
  [/^(?:Oops: )+(?:invalid opcode|divide error|\d{4}) ?.*\[#\d+\]/, (m) => ({ type: 'kernel-oops', where: '', summary: m[0]! })],
  [/^(?:invalid opcode|divide error): \d{4} \[#\d+\]/, (m) => ({ type: 'kernel-oops', where: '', summary: m[0]! })],
  [/^Kernel panic - not syncing: (.*)/, (m) => ({ type: 'kernel-oops', where: '', summary: `Kernel panic - not syncing: ${m[1]}` })],
];

/** Lines that continue the report already open rather than starting one. */
const CONTINUATION = [/^Oops: /, /^(?:invalid opcode|divide error): /, /^Kernel panic - not syncing/, /^#PF: /, /^PGD /];

const END_MARKERS = [/^---\[ end trace [0-9a-f]+ \]---/, /^---\[ end Kernel panic/, /^={60,}$/];

/** Where in a report to look for the function that faulted. */
const RIP = /^RIP: 00\d\d:([\w.]+)\+/;

/** Frames of the slab allocator, list checks and stack dumping: never the culprit. */
const NOT_CULPRIT =
  /^(?:dump_stack\w*|show_stack|print_\w+|object_err|slab_err|slab_bug|check_\w+|free_\w*debug\w*|free_to_partial_list|__slab_free|___slab_alloc|__slab_alloc\w*|slab_free\w*|do_slab_free|kfree\w*|__kmem_cache_\w+|kmem_cache_\w+|kmalloc\w*|__kmalloc\w*|kvfree\w*|validate_\w+|on_freelist|alloc_debug_processing|free_debug_processing|_*list_\w+|__list_\w+_valid\w*|kfence_\w+|__kfence_\w+|kernfs_\w+)$/;

export function isNotCulprit(fn: string): boolean {
  return NOT_CULPRIT.test(fn.replace(/\.(?:cold|isra|constprop|part)(?:\.\d+)*$/, ''));
}

/**
 * The function a report blames when it is not on its first line: for SLUB
 * and list reports the first call-trace frame outside the allocator and the
 * list checks (for "Poison overwritten", the function that freed the object);
 * for KFENCE its header already names it.
 */
export function culprit(lines: string[], h: HeaderMatch): string | undefined {
  if (h.family === 'slub' && /Poison overwritten/.test(h.summary)) {
    // Found by a later check, whose call trace is the checker's: the object's
    // owner (who freed it, else who allocated it) is the lead.
    for (const what of ['Freed', 'Allocated']) {
      for (const l of lines) {
        const m = new RegExp(`^${what} in ([A-Za-z_][\\w.]*)\\+`).exec(l.trim());
        if (m) return m[1];
      }
    }
    return undefined;
  }
  let inTrace = false;
  for (const raw of lines) {
    const l = raw.trim();
    // KFENCE's access trace has no "Call Trace:" line: it follows "Use-after-free read at 0x…:"
    if (/^Call Trace:/.test(l) || (h.family === 'kfence' && /^[\w -]+ (?:read|write)? ?at 0x[0-9a-f]+/i.test(l))) {
      inTrace = true;
      continue;
    }
    if (!inTrace || l.startsWith('?') || l.startsWith('<')) continue;
    const m = /^([\w.]+)\+0x[0-9a-f]+\/0x[0-9a-f]+/.exec(l);
    if (!m) {
      if (/^RIP: 0033|^---\[/.test(l)) inTrace = false;
      continue;
    }
    const fn = m[1]!.replace(/\.(?:cold|isra|constprop|part)(?:\.\d+)*$/, '');
    if (!NOT_CULPRIT.test(fn)) return m[1];
  }
  return undefined;
}

export function matchHeader(text: string): HeaderMatch | undefined {
  for (const [re, f] of HEADERS) {
    const m = re.exec(text);
    if (m) return f(m);
  }
  return undefined;
}

export function isContinuation(text: string): boolean {
  return CONTINUATION.some((re) => re.test(text));
}

export function isEndMarker(text: string): boolean {
  return END_MARKERS.some((re) => re.test(text));
}

export function ripFunction(text: string): string | undefined {
  return RIP.exec(text)?.[1];
}

/** An ALSA/driver error worth showing (not a finding by itself). */
export function isAlsaError(text: string, level: number): boolean {
  return level <= 3 && /\b(ALSA|snd[_-]|sound|pcm|seq_|usb-audio|snd_usb|soc|sof-)/i.test(text);
}

/** Severity colour for timelines: 0..7 printk levels collapsed to four bands. */
export function severityOf(level: number, text: string): 'emerg' | 'error' | 'warn' | 'info' {
  if (level <= 2 || /^Kernel panic/.test(text)) return 'emerg';
  if (level <= 3 || /^BUG:/.test(text)) return 'error';
  if (level === 4) return 'warn';
  return 'info';
}

/** Strip "[   12.345678] " and "<3>" prefixes from raw dmesg/console text. */
export function stripPrefix(line: string): { text: string; ktime?: number; level?: number } {
  let text = line;
  let level: number | undefined;
  let ktime: number | undefined;
  const lv = /^<(\d)>/.exec(text);
  if (lv) {
    level = Number(lv[1]);
    text = text.slice(lv[0].length);
  }
  const ts = /^\[\s*(\d+)\.(\d{6})\](?:\[\s*[CT]\d+\])?\s?/.exec(text);
  if (ts) {
    ktime = Number(ts[1]) * 1e6 + Number(ts[2]);
    text = text.slice(ts[0].length);
  }
  return { text: text.replace(/\s+$/, ''), ...(ktime !== undefined ? { ktime } : {}), ...(level !== undefined ? { level } : {}) };
}
