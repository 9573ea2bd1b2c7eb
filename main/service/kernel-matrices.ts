// Kernel matrices started from the app: the same preset run once per kernel,
// one run after another (one run per target at a time), each an ordinary run
// in the history, and a table of verdicts per kernel kept in
// runs/<matrix id>/matrix.json as the CLI writes it (app/engine/kernel-matrix.ts).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MatrixRowState, MatrixStatus, RunStarted, RunSummary } from '../../app/api/types.js';
import { ApiError } from '../../app/api/validate.js';
import { errorRow, type KernelMatrix, type MatrixKernel, matrixHtml, matrixRow } from '../../app/engine/kernel-matrix.js';

interface Stored extends KernelMatrix {
  /** What the app shows while it runs: per kernel, its run and state. */
  status: MatrixStatus;
}

export interface MatrixHooks {
  /** Starts the run for one kernel. */
  launch(k: MatrixKernel): Promise<RunStarted>;
  /** Resolves when that run has ended. */
  done(runId: string): Promise<{ summary: RunSummary | null; error?: string }>;
  /** Something changed (the history should refresh). */
  changed(): void;
}

export class KernelMatrices {
  private readonly live = new Map<string, MatrixStatus>();

  /** Starts the matrix; resolves once its first run has started (which is what the caller opens). */
  async start(id: string, dir: string, preset: string, seed: number, kernels: MatrixKernel[], hooks: MatrixHooks): Promise<RunStarted> {
    const status: MatrixStatus = { id, preset, seed, state: 'running', rows: kernels.map((k) => ({ kernel: k.version, state: 'waiting' })) };
    const rows: KernelMatrix['rows'] = [];
    const save = () => {
      const m: Stored = { kind: 'kernel-matrix', preset, seed, kernels: kernels.map((k) => k.version), rows, created: new Date().toISOString(), status };
      const tmp = join(dir, `matrix.json.${process.pid}`);
      writeFileSync(tmp, JSON.stringify(m, null, 2) + '\n');
      renameSync(tmp, join(dir, 'matrix.json'));
      writeFileSync(join(dir, 'matrix.html'), matrixHtml(m));
    };
    this.live.set(id, status);
    save();
    // The first kernel's run is started here so that its errors (a patch that
    // does not apply) reach the caller; the rest follow in the background.
    const first = await this.startOne(kernels[0]!, status.rows[0]!, hooks).catch((e: unknown) => {
      this.live.delete(id);
      throw e;
    });
    void (async () => {
      let started: RunStarted | undefined = first;
      for (let i = 0; i < kernels.length; i++) {
        const k = kernels[i]!;
        const row = status.rows[i]!;
        if (i > 0) started = await this.startOne(k, row, hooks).catch((e: unknown) => {
          row.state = 'error';
          row.error = (e as Error).message;
          rows.push(errorRow(k, row.error));
          return undefined;
        });
        if (started) {
          save();
          hooks.changed();
          const end = await hooks.done(started.runId);
          if (end.summary) {
            row.row = matrixRow(k, end.summary, started.runId);
            row.state = 'done';
            rows.push(row.row);
          } else {
            row.state = 'error';
            row.error = end.error ?? 'the run ended without a summary';
            rows.push(errorRow(k, row.error));
          }
          // A run the user stopped ends the matrix: they wanted it to stop (a
          // stopped run with findings is "fail", not "aborted": the reason says it).
          if (end.summary?.verdict === 'aborted' || end.summary?.reason === 'stopped by user') {
            for (const rest of status.rows.slice(i + 1)) {
              rest.state = 'error';
              rest.error = 'not run: the matrix was stopped';
            }
            break;
          }
        }
        save();
      }
      status.state = 'done';
      save();
      this.live.delete(id);
      hooks.changed();
    })().catch(() => {
      // matrix.json could not be written (a full disk): the matrix ends there
      // rather than taking the lab down; its runs are in the history already.
      status.state = 'done';
      this.live.delete(id);
      hooks.changed();
    });
    return { ...first, matrix: id };
  }

  private async startOne(k: MatrixKernel, row: MatrixRowState, hooks: MatrixHooks): Promise<RunStarted> {
    row.state = 'running';
    const s = await hooks.launch(k);
    row.runId = s.runId;
    return s;
  }

  /** A matrix's state: live from memory, finished ones from their matrix.json. */
  get(id: string, dir: string): MatrixStatus {
    const live = this.live.get(id);
    if (live) return live;
    try {
      return (JSON.parse(readFileSync(join(dir, 'matrix.json'), 'utf8')) as Stored).status;
    } catch {
      throw new ApiError('not-found', `no kernel matrix ${id}`);
    }
  }
}
