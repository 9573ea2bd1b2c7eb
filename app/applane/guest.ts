// The application lane inside the virtual lab's guest: the guest runs on this
// machine's root, so its Node and the checkout's compiled child are at the
// same paths (or under /run/vlab/host when the guest could not overlay /tmp).
import type { ExecHandle, Guest } from '../vlab/index.js';
import { GuestDownError } from '../vlab/index.js';
import { TargetError } from '../targets/target.js';
import { childCommand, childScript, type ChildChannel } from './session.js';

async function visible(g: Guest, path: string): Promise<string> {
  for (const p of [path, `/run/vlab/host${path}`]) {
    const r = await g.run('test', ['-e', p], { timeoutMs: 30_000 });
    if (r.code === 0) return p;
  }
  throw new TargetError(`${path} is not visible inside the guest (neither at its own path nor under /run/vlab/host)`);
}

/** Starts the child in the guest; the shell puts its protocol (fd 3) on the process's stdout. */
export async function execChildInGuest(g: Guest, script = childScript()): Promise<{ handle: ExecHandle; channel: ChildChannel }> {
  const node = await visible(g, process.execPath);
  const js = await visible(g, script);
  const { cmd, args } = childCommand(node, js);
  const h = g.exec(cmd, args);
  let stderr = '';
  const errCbs: ((b: Buffer) => void)[] = [];
  h.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4096);
    for (const cb of errCbs) cb(d);
  });
  h.stdin.on('error', () => {});
  return {
    handle: h,
    channel: {
      write: (s) => {
        if (!h.stdin.destroyed) h.stdin.write(s);
      },
      onProtocol: (cb) => h.stdout.on('data', cb),
      onStderr: (cb) => errCbs.push(cb),
      onClose: (cb) =>
        void h.exit.then(
          (st) => cb(`${st.signal ? `killed by ${st.signal}` : `exit code ${st.code}`}${stderr.trim() ? ` (stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')})` : ''}`),
          (e: Error) => cb(e instanceof GuestDownError ? `the guest went down: ${e.message}` : e.message),
        ),
      kill: () => {
        try {
          h.kill('SIGKILL');
        } catch {
          /* gone */
        }
      },
    },
  };
}
