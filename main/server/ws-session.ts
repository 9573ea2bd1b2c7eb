// One WebSocket connection: requests in, replies and pushes out. A bad
// message gets an error reply naming what was wrong; it never closes the
// connection or reaches the lab core unchecked.
import type { WebSocket, RawData } from 'ws';
import type { ServerMessage } from '../../app/api/types.js';
import { ApiError, checkRequest, idOf } from '../../app/api/validate.js';
import type { Client, LabService } from '../service/lab-service.js';
import { errorBody } from '../service/errors.js';

export function attachSession(ws: WebSocket, service: LabService): void {
  const send = (m: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  };
  const client: Client = {
    push: send,
    pushEvents(sub, runId, from, lines) {
      if (ws.readyState === ws.OPEN) ws.send(`{"type":"events","sub":${JSON.stringify(sub)},"runId":${JSON.stringify(runId)},"from":${from},"events":[${lines.join(',')}]}`);
    },
    backlog: () => ws.bufferedAmount,
  };
  ws.on('message', (data: RawData, isBinary: boolean) => {
    let raw: unknown;
    try {
      if (isBinary) throw new ApiError('bad-request', 'message: expected a text frame with JSON, got binary');
      const text = data.toString();
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new ApiError('bad-request', `message: not JSON (${(e as Error).message})`);
      }
      const req = checkRequest(raw);
      service.call(req.method, req.params, client).then(
        (result) => send({ type: 'result', id: req.id, ok: true, result }),
        (e: unknown) => send({ type: 'result', id: req.id, ok: false, error: errorBody(e) }),
      );
    } catch (e) {
      send({ type: 'result', id: idOf(raw), ok: false, error: errorBody(e) });
    }
  });
  ws.on('close', () => service.detach(client));
  ws.on('error', () => service.detach(client));
}
