// IPC between the window and the lab: one channel for calls, one for pushes.
// Calls are accepted only from our own page (app://lab) and are checked
// field by field before the service sees them.
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { ResponseMessage } from '../../app/api/types.js';
import { ApiError, checkRequest, idOf } from '../../app/api/validate.js';
import type { Client, LabService } from '../service/lab-service.js';
import { errorBody } from '../service/errors.js';
import { APP_ORIGIN } from './window.js';

export function trustedSender(e: IpcMainInvokeEvent): boolean {
  const url = e.senderFrame?.url ?? '';
  return url === APP_ORIGIN || url.startsWith(`${APP_ORIGIN}/`);
}

export function bindIpc(service: LabService): void {
  const clients = new WeakMap<WebContents, Client>();
  const clientFor = (wc: WebContents): Client => {
    let c = clients.get(wc);
    if (!c) {
      const client: Client = {
        push: (m) => {
          if (!wc.isDestroyed()) wc.send('lab:push', m);
        },
        pushEvents: (sub, runId, from, lines) => {
          if (!wc.isDestroyed()) wc.send('lab:push', { type: 'events', sub, runId, from, events: JSON.parse(`[${lines.join(',')}]`) });
        },
        backlog: () => 0,
      };
      clients.set(wc, client);
      wc.once('destroyed', () => service.detach(client));
      c = client;
    }
    return c;
  };
  ipcMain.handle('lab:call', async (e, raw: unknown): Promise<ResponseMessage> => {
    try {
      if (!trustedSender(e)) throw new ApiError('bad-request', `calls are accepted only from ${APP_ORIGIN}`);
      const req = checkRequest(raw);
      try {
        const result = await service.call(req.method, req.params, clientFor(e.sender));
        return { type: 'result', id: req.id, ok: true, result };
      } catch (err) {
        return { type: 'result', id: req.id, ok: false, error: errorBody(err) };
      }
    } catch (err) {
      return { type: 'result', id: idOf(raw), ok: false, error: errorBody(err) };
    }
  });
}
