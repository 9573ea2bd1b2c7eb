// Where the built pieces are, from the compiled main/ (dist/main/...): the
// renderer bundle sits beside it in dist/renderer, in the repository and in
// the packaged app alike.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

/** dist/ (this file is dist/main/paths.js once built). */
export const distDir = join(here, '..');
export const rendererDir = join(distDir, 'renderer');
