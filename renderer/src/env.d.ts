/// <reference types="svelte" />
/// <reference types="vite/client" />
import type { Bridge } from '../../app/api/types.js';

declare global {
  interface Window {
    /** Present in the Electron window (the preload's bridge); absent in a browser. */
    stresslab?: Bridge;
  }
}
