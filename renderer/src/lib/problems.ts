import type { PresetProblem } from '../../../app/api/types.js';

/** file:line:col: path: message — the layout the CLI prints, so both read the same. */
export function formatProblemText(p: PresetProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.col ?? 1}` : p.file;
  return `${where}: ${p.path}: ${p.message}`;
}
