// User-supplied regular expressions (klog_ignore) matched in time linear in
// the text: a Thompson-style NFA run over every position at once, never
// backtracking. JavaScript's own engine backtracks, so "^(.+)+Z$" against a
// long line takes longer than the universe has; here it takes one pass.
//
// The accepted language is a subset of JavaScript's (no flags): literals,
// ".", classes ([a-z], [^...], \d \w \s and their negations), anchors ^ $,
// word boundaries \b \B, groups ( ) and (?: ) and (?<name> ), alternation,
// and the quantifiers * + ? {n} {n,} {n,m} (lazy forms too: for a yes/no
// match they mean the same). What cannot be matched without backtracking
// (backreferences, lookaround) is refused with a message saying so, and so
// is anything where JavaScript's reading is surprising (a bare "{", "\p"
// meaning "p"), so a pattern means here what it means in JavaScript.

export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternError';
  }
}

/** Program size limit: counted repetitions are unrolled, so "(a{100}){100}" is refused rather than huge. */
export const MAX_PROGRAM = 2_000;

type Ranges = number[]; // [lo0, hi0, lo1, hi1, ...] inclusive, UTF-16 code units

interface CharSet {
  ranges: Ranges;
  negated: boolean;
}

type Node =
  | { t: 'char'; set: CharSet }
  | { t: 'any' }
  | { t: 'bol' }
  | { t: 'eol' }
  | { t: 'wordb'; negated: boolean }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number };

const DIGIT: Ranges = [0x30, 0x39];
const WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
// \s as JavaScript defines it (WhiteSpace and LineTerminator).
const SPACE: Ranges = [0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];
const LINE_TERMINATORS: Ranges = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

function inRanges(r: Ranges, c: number): boolean {
  for (let i = 0; i < r.length; i += 2) if (c >= r[i]! && c <= r[i + 1]!) return true;
  return false;
}

function complement(r: Ranges): Ranges {
  const sorted: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) sorted.push([r[i]!, r[i + 1]!]);
  sorted.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push(next, lo - 1);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Node {
    const n = this.alt();
    if (this.i < this.s.length) throw this.err(this.s[this.i] === ')' ? 'unmatched ")"' : `unexpected "${this.s[this.i]}"`);
    return n;
  }

  private err(what: string): PatternError {
    return new PatternError(`${what} at position ${this.i + 1}`);
  }

  private alt(): Node {
    const items = [this.cat()];
    while (this.s[this.i] === '|') {
      this.i++;
      items.push(this.cat());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  private cat(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') items.push(this.repeat());
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  private repeat(): Node {
    const start = this.i;
    let node = this.atom();
    for (;;) {
      const c = this.s[this.i];
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i));
        if (!m) throw this.err('a "{" that does not start a repetition like {2} or {1,3}; write \\{ for the character');
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max < min) throw this.err(`repetition {${m[1]},${m[3]}} has its numbers out of order`);
        if (min > MAX_PROGRAM) throw this.err(`repetition count ${min} is too large`);
        this.i += m[0].length - 1;
      } else return node;
      this.i++;
      if (node.t === 'bol' || node.t === 'eol' || node.t === 'wordb') throw new PatternError(`nothing to repeat at position ${start + 1}`);
      if (this.s[this.i] === '?') this.i++;
      node = { t: 'rep', node, min, max };
    }
  }

  private atom(): Node {
    const s = this.s;
    const c = s[this.i]!;
    switch (c) {
      case '(': {
        this.i++;
        if (s[this.i] === '?') {
          if (s.startsWith('?:', this.i)) this.i += 2;
          else if (s.startsWith('?=', this.i) || s.startsWith('?!', this.i) || s.startsWith('?<=', this.i) || s.startsWith('?<!', this.i))
            throw this.err('lookaround ((?=, (?!, (?<=, (?<!) cannot be matched in linear time and is not supported');
          else if (/^\?<[A-Za-z_$][\w$]*>/.test(s.slice(this.i))) this.i = s.indexOf('>', this.i) + 1;
          else throw this.err('"(?" must start (?: or (?<name>');
        }
        const inner = this.alt();
        if (s[this.i] !== ')') throw this.err('unclosed "("');
        this.i++;
        return inner;
      }
      case ')':
        throw this.err('unmatched ")"');
      case '[':
        return { t: 'char', set: this.cls() };
      case ']':
      case '}':
        throw this.err(`a bare "${c}"; write \\${c} for the character`);
      case '{':
        throw this.err('a "{" that does not follow something to repeat; write \\{ for the character');
      case '*':
      case '+':
      case '?':
        throw this.err('nothing to repeat');
      case '.':
        this.i++;
        return { t: 'any' };
      case '^':
        this.i++;
        return { t: 'bol' };
      case '$':
        this.i++;
        return { t: 'eol' };
      case '\\':
        return this.escape();
      default:
        this.i++;
        return { t: 'char', set: { ranges: [c.charCodeAt(0), c.charCodeAt(0)], negated: false } };
    }
  }

  /** An escape outside a class. */
  private escape(): Node {
    const s = this.s;
    const c = s[this.i + 1];
    if (c === undefined) throw this.err('"\\" at the end of the pattern');
    if (c === 'b' || c === 'B') {
      this.i += 2;
      return { t: 'wordb', negated: c === 'B' };
    }
    if (/[1-9]/.test(c) || c === 'k') throw this.err('backreferences cannot be matched in linear time and are not supported');
    const set = this.classEscape(false);
    return { t: 'char', set };
  }

  /**
   * The character set of an escape at this.i (inside a class when `inClass`),
   * consuming it. Only escapes whose meaning is the same with and without
   * JavaScript's unicode flag are accepted.
   */
  private classEscape(inClass: boolean): CharSet {
    const s = this.s;
    const c = s[this.i + 1]!;
    this.i += 2;
    const one = (code: number): CharSet => ({ ranges: [code, code], negated: false });
    switch (c) {
      case 'd':
        return { ranges: DIGIT, negated: false };
      case 'D':
        return { ranges: DIGIT, negated: true };
      case 'w':
        return { ranges: WORD, negated: false };
      case 'W':
        return { ranges: WORD, negated: true };
      case 's':
        return { ranges: SPACE, negated: false };
      case 'S':
        return { ranges: SPACE, negated: true };
      case 't':
        return one(9);
      case 'n':
        return one(10);
      case 'v':
        return one(11);
      case 'f':
        return one(12);
      case 'r':
        return one(13);
      case 'b':
        if (inClass) return one(8);
        break;
      case '0':
        if (!/[0-9]/.test(s[this.i] ?? '')) return one(0);
        break;
      case 'x': {
        const m = /^[0-9A-Fa-f]{2}/.exec(s.slice(this.i));
        if (!m) throw this.err('"\\x" needs two hex digits');
        this.i += 2;
        return one(parseInt(m[0], 16));
      }
      case 'u': {
        const m = /^[0-9A-Fa-f]{4}/.exec(s.slice(this.i));
        if (!m) throw this.err('"\\u" needs four hex digits');
        this.i += 4;
        return one(parseInt(m[0], 16));
      }
      default:
        if (/[\^$\\.*+?()[\]{}|/\-]/.test(c)) return one(c.charCodeAt(0));
    }
    this.i -= 2;
    throw this.err(`the escape "\\${c}" is not supported (escape only punctuation, or use \\d \\w \\s \\t \\n \\xHH \\uHHHH)`);
  }

  private cls(): CharSet {
    const s = this.s;
    const open = this.i;
    this.i++;
    let negated = false;
    if (s[this.i] === '^') {
      negated = true;
      this.i++;
    }
    const parts: CharSet[] = [];
    let first = true;
    for (;;) {
      if (this.i >= s.length) {
        this.i = open;
        throw this.err('unclosed "["');
      }
      const c = s[this.i]!;
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      if (c === ']') throw this.err('an empty class "[]" matches nothing; write \\] for the character');
      if (c === '[') throw this.err('a "[" inside a class; write \\[ for the character');
      first = false;
      const lo = this.classAtom();
      if (s[this.i] === '-' && s[this.i + 1] !== ']' && this.i + 1 < s.length) {
        this.i++;
        const hi = this.classAtom();
        if (lo.negated || hi.negated || lo.ranges.length !== 2 || hi.ranges.length !== 2 || lo.ranges[0] !== lo.ranges[1] || hi.ranges[0] !== hi.ranges[1])
          throw this.err('a range in a class must go from one character to another (like a-z)');
        if (hi.ranges[0]! < lo.ranges[0]!) throw this.err('a class range out of order');
        parts.push({ ranges: [lo.ranges[0]!, hi.ranges[0]!], negated: false });
      } else parts.push(lo);
    }
    const ranges: Ranges = [];
    for (const p of parts) ranges.push(...(p.negated ? complement(p.ranges) : p.ranges));
    return { ranges, negated };
  }

  private classAtom(): CharSet {
    const c = this.s[this.i]!;
    if (c === '\\') return this.classEscape(true);
    this.i++;
    return { ranges: [c.charCodeAt(0), c.charCodeAt(0)], negated: false };
  }
}

const enum Op {
  Char,
  Any,
  Split,
  Jmp,
  Bol,
  Eol,
  WordB,
  NotWordB,
  Match,
}

interface Inst {
  op: Op;
  set?: CharSet;
  x?: number;
  y?: number;
}

class Compiler {
  readonly prog: Inst[] = [];

  emit(i: Inst): number {
    if (this.prog.length >= MAX_PROGRAM) throw new PatternError(`the pattern is too large to match in bounded time (over ${MAX_PROGRAM} steps once repetitions are unrolled)`);
    this.prog.push(i);
    return this.prog.length - 1;
  }

  node(n: Node): void {
    switch (n.t) {
      case 'char':
        this.emit({ op: Op.Char, set: n.set });
        return;
      case 'any':
        this.emit({ op: Op.Any });
        return;
      case 'bol':
        this.emit({ op: Op.Bol });
        return;
      case 'eol':
        this.emit({ op: Op.Eol });
        return;
      case 'wordb':
        this.emit({ op: n.negated ? Op.NotWordB : Op.WordB });
        return;
      case 'cat':
        for (const x of n.items) this.node(x);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < n.items.length - 1; k++) {
          const split = this.emit({ op: Op.Split });
          this.prog[split]!.x = this.prog.length;
          this.node(n.items[k]!);
          jumps.push(this.emit({ op: Op.Jmp }));
          this.prog[split]!.y = this.prog.length;
        }
        this.node(n.items[n.items.length - 1]!);
        for (const j of jumps) this.prog[j]!.x = this.prog.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) this.node(n.node);
        if (n.max === Infinity) {
          const split = this.emit({ op: Op.Split });
          this.prog[split]!.x = this.prog.length;
          this.node(n.node);
          this.emit({ op: Op.Jmp, x: split });
          this.prog[split]!.y = this.prog.length;
        } else {
          const ends: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const split = this.emit({ op: Op.Split });
            this.prog[split]!.x = this.prog.length;
            ends.push(split);
            this.node(n.node);
          }
          for (const s of ends) this.prog[s]!.y = this.prog.length;
        }
        return;
      }
    }
  }
}

function isWord(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x61 && c <= 0x7a);
}

/** A compiled pattern: test() answers what RegExp.prototype.test would, in O(text × pattern) time. */
export class SafePattern {
  private readonly prog: Inst[];
  private readonly onList: Int32Array;
  private readonly cur: Int32Array;
  private readonly nxt: Int32Array;
  private gen = 0;

  constructor(readonly source: string) {
    if (source.length > 1000) throw new PatternError('the pattern is longer than 1000 characters');
    const tree = new Parser(source).parse();
    const c = new Compiler();
    c.node(tree);
    c.emit({ op: Op.Match });
    this.prog = c.prog;
    this.onList = new Int32Array(this.prog.length).fill(-1);
    this.cur = new Int32Array(this.prog.length);
    this.nxt = new Int32Array(this.prog.length);
  }

  get size(): number {
    return this.prog.length;
  }

  test(text: string): boolean {
    const prog = this.prog;
    const n = text.length;
    let cur = this.cur;
    let nxt = this.nxt;
    let nc = 0;
    const stack: number[] = [];
    // Adds pc and everything reachable from it without reading a character; true if Match is reachable.
    const add = (list: Int32Array, len: number, pc0: number, pos: number): number => {
      stack.push(pc0);
      while (stack.length) {
        const pc = stack.pop()!;
        if (this.onList[pc] === this.gen) continue;
        this.onList[pc] = this.gen;
        const ins = prog[pc]!;
        switch (ins.op) {
          case Op.Jmp:
            stack.push(ins.x!);
            break;
          case Op.Split:
            stack.push(ins.y!, ins.x!);
            break;
          case Op.Bol:
            if (pos === 0) stack.push(pc + 1);
            break;
          case Op.Eol:
            if (pos === n) stack.push(pc + 1);
            break;
          case Op.WordB:
          case Op.NotWordB: {
            const b = (pos > 0 && isWord(text.charCodeAt(pos - 1))) !== (pos < n && isWord(text.charCodeAt(pos)));
            if (b === (ins.op === Op.WordB)) stack.push(pc + 1);
            break;
          }
          default:
            list[len++] = pc;
        }
      }
      return len;
    };
    this.gen++;
    for (let pos = 0; ; pos++) {
      // Unanchored search: a new thread starts at every position.
      nc = add(cur, nc, 0, pos);
      for (let k = 0; k < nc; k++) if (prog[cur[k]!]!.op === Op.Match) return true;
      if (pos >= n) return false;
      const ch = text.charCodeAt(pos);
      this.gen++;
      let nn = 0;
      for (let k = 0; k < nc; k++) {
        const pc = cur[k]!;
        const ins = prog[pc]!;
        let ok = false;
        if (ins.op === Op.Any) ok = !inRanges(LINE_TERMINATORS, ch);
        else if (ins.op === Op.Char) ok = inRanges(ins.set!.ranges, ch) !== ins.set!.negated;
        if (ok) nn = add(nxt, nn, pc + 1, pos + 1);
      }
      [cur, nxt] = [nxt, cur];
      nc = nn;
      // Threads added for pos + 1 carry this generation; the start thread joins them next round.
    }
  }
}

/** Compiles or explains why not: the message is meant for the user who wrote the pattern. */
export function compilePattern(source: string): SafePattern {
  try {
    new RegExp(source);
  } catch (e) {
    throw new PatternError(`not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  return new SafePattern(source);
}
