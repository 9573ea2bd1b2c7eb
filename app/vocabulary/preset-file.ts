// Reading a preset from text: YAML (JSON is accepted too, being YAML), with
// every problem reported as file:line:col, the path inside the preset, and
// what was expected there.
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Node } from 'yaml';
import { type Issue, type Path, formatPath } from './schema.js';
import { type Scenario, validateScenario } from './scenario.js';

export interface PresetProblem {
  file: string;
  line?: number;
  col?: number;
  path: string;
  message: string;
}

export class PresetError extends Error {
  constructor(readonly problems: PresetProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PresetError';
  }
}

export function formatProblem(p: PresetProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.col ?? 1}` : p.file;
  return `${where}: ${p.path}: ${p.message}`;
}

const MAX_PRESET_BYTES = 1 << 20;

export interface ParsedPreset {
  scenario: Scenario;
  text: string;
  file: string;
}

/** Checks that need more than the preset itself (a suite's entries exist, say); issues are located like the rest. */
export type CrossCheck = (scenario: Scenario) => Issue[];

/** Parse and validate; throws PresetError naming file, position and path of every problem. */
export function parsePreset(text: string, file: string, crossCheck?: CrossCheck): ParsedPreset {
  if (text.length > MAX_PRESET_BYTES) throw new PresetError([{ file, path: '(file)', message: `preset is ${text.length} bytes; the limit is ${MAX_PRESET_BYTES}` }]);
  if (text.includes('\u0000')) throw new PresetError([{ file, path: '(file)', message: 'preset contains NUL bytes; is this a binary file?' }]);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new PresetError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { file, line: pos.line, col: pos.col, path: '(syntax)', message: e.message.split('\n')[0]! };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new PresetError([{ file, path: '(syntax)', message: (e as Error).message }]);
  }
  if (raw === null || raw === undefined) throw new PresetError([{ file, path: '(top level)', message: 'the preset is empty' }]);
  const { scenario, issues } = validateScenario(raw);
  if (scenario && crossCheck) issues.push(...crossCheck(scenario));
  if (!scenario || issues.length) throw new PresetError(issues.map((i) => locate(doc.contents as Node | null, lc, i, file)).sort(byPosition));
  return { scenario, text, file };
}

function byPosition(a: PresetProblem, b: PresetProblem): number {
  return (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0);
}

/** Validate without throwing: for live feedback in the editor. */
export function checkPreset(text: string, file: string, crossCheck?: CrossCheck): { scenario?: Scenario; problems: PresetProblem[] } {
  try {
    return { scenario: parsePreset(text, file, crossCheck).scenario, problems: [] };
  } catch (e) {
    if (e instanceof PresetError) return { problems: e.problems };
    throw e;
  }
}

function locate(root: Node | null, lc: LineCounter, issue: Issue, file: string): PresetProblem {
  const node = findNode(root, issue.path);
  const offset = node?.range?.[0];
  const pos = offset !== undefined ? lc.linePos(offset) : undefined;
  return { file, ...(pos ? { line: pos.line, col: pos.col } : {}), path: formatPath(issue.path), message: issue.message };
}

/** Deepest node along the path; for a key that exists, the key itself. */
function findNode(root: Node | null, path: Path): Node | undefined {
  let cur: Node | null | undefined = root;
  let last: Node | undefined = root ?? undefined;
  for (const part of path) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
      if (!pair) return last;
      cur = pair.value as Node | null;
      last = cur ?? (pair.key as Node);
    } else if (isSeq(cur) && typeof part === 'number') {
      const item = cur.items[part] as Node | undefined;
      if (!item) return last;
      cur = item;
      last = item;
    } else return last;
  }
  return last;
}
