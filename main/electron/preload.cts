// The page's only door to the lab: one call and one push channel. Sandboxed
// preloads are CommonJS and can require nothing but Electron's renderer
// modules, so this file stands alone; the main process validates every call.
import type { Bridge, PushMessage, ResponseMessage } from '../../app/api/types.js';

const { contextBridge, ipcRenderer } = require('electron') as typeof import('electron');

let nextId = 1;

const bridge: Bridge = {
  call(method: string, params: unknown): Promise<ResponseMessage> {
    return ipcRenderer.invoke('lab:call', { id: nextId++, method, params }) as Promise<ResponseMessage>;
  },
  onPush(fn: (m: PushMessage) => void): () => void {
    const h = (_e: unknown, m: PushMessage) => fn(m);
    ipcRenderer.on('lab:push', h);
    return () => void ipcRenderer.removeListener('lab:push', h);
  },
};

contextBridge.exposeInMainWorld('stresslab', bridge);
