// Runs a program on an agent session and turns the session's result into
// the engine's RunOutcome. Shared by the local and virtual-lab targets; they
// differ only in how the agent is started and where the kernel log comes from.
import type { RunOutcome, RunRequest } from '../target.js';
import { TargetError } from '../target.js';
import { EncodeError, encodeProgram } from './program.js';
import { PROTO_VERSION } from './protocol.js';
import type { AgentSession, DeviceRequestHandler, SessionRunResult } from './session.js';

export interface KernelLogFeed {
  /** Called once the agent reports its run-start clock (CLOCK_MONOTONIC ns). */
  start(t0: number): void;
  /** Flush what is left and stop. */
  stop(): void;
}

export interface AgentRunOptions {
  flags: number;
  onDeviceRequest?: DeviceRequestHandler;
  klog?: KernelLogFeed;
  silenceMs?: number;
}

export async function runOnAgent(session: AgentSession, req: RunRequest, o: AgentRunOptions): Promise<{ outcome: RunOutcome; result: SessionRunResult }> {
  let program;
  try {
    program = encodeProgram(req.program, { flags: o.flags });
  } catch (e) {
    if (e instanceof EncodeError) throw new TargetError(`the native agent cannot run this scenario: ${e.message}`);
    throw e;
  }
  const hello = await session.start();
  if (hello.proto !== PROTO_VERSION) throw new TargetError(`the agent speaks protocol ${hello.proto}, the lab ${PROTO_VERSION}`, 'rebuild the agent (make -C native-bridge)');
  req.emit({ kind: 'note', t: 0, level: 'info', text: `native agent ${hello.version} (pid ${hello.pid}, uid ${hello.uid}) on Linux ${hello.kernel} ${hello.machine}` });
  let result: SessionRunResult;
  try {
    result = await session.run(program, {
      emit: req.emit,
      signal: req.signal,
      ...(o.onDeviceRequest ? { onDeviceRequest: o.onDeviceRequest } : {}),
      ...(o.silenceMs ? { silenceMs: o.silenceMs } : {}),
      stopGraceMs: Math.max(5000, req.program.hangTimeout / 1e6 * 2 + 3000),
      ...(req.reportRequests ? { reportRequests: true } : {}),
      onStarted: (t0) => o.klog?.start(t0),
    });
  } finally {
    o.klog?.stop();
  }
  const outcome: RunOutcome = { status: result.status, elapsed: result.elapsed };
  if (result.reason) outcome.reason = result.reason;
  return { outcome, result };
}
