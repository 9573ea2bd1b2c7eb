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
}

/**
 * LIST_POISON1/2 (0xdead000000000100/0x122, plus a field offset): a fault
 * there means a list entry was used after list_del(), i.e. after it was
 * unlinked to be freed. That is the use-after-free class even when KASAN
 * never sees the freed memory (the entry was unlinked but not yet freed).
 */
const LIST_POISON = /^(?:0x)?dead0000000001[0-9a-f]{2}$|^(?:0x)?dead0000000000[0-9a-f]{2}$/;

function faultAt(addr: string, what: string): HeaderMatch {
  return LIST_POISON.test(addr)
    ? { type: 'use-after-free', where: '', summary: `use of a deleted list entry: ${what} at ${addr} (LIST_POISON)` }
    : { type: 'kernel-oops', where: '', summary: `${what} at ${addr}` };
}

const HEADERS: [RegExp, (m: RegExpExecArray) => HeaderMatch][] = [
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
