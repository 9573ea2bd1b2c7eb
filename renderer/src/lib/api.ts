// Typed calls to the lab. Errors come back as ApiError with the server's
// code and message (which names the field, file or target at fault).
import type { Method, Params, PushMessage, Result } from '../../../app/api/types.js';
import { ApiError } from '../../../app/api/validate.js';
import { createTransport, type ConnectionState, type Transport } from './transport.js';

export { ApiError };

export class LabApi {
  constructor(private readonly t: Transport) {}

  get transport(): Transport['kind'] {
    return this.t.kind;
  }

  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const r = await this.t.request(method, params);
    if (!r.ok) throw new ApiError(r.error.code, r.error.message);
    return r.result as Result<M>;
  }

  onPush(fn: (m: PushMessage) => void): void {
    this.t.onPush(fn);
  }

  onState(fn: (s: ConnectionState) => void): void {
    this.t.onState(fn);
  }
}

export const api = new LabApi(createTransport());
