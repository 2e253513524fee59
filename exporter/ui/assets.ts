// The status page's files, read once at start from the package: ui/index.html, *.css and *.svg as
// written, dist/ui/*.js as the build compiled them from ui/*.ts. Nothing comes from elsewhere
// (no CDN, no web fonts): the page works on an air-gapped cluster.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** Strong validator of the body, quoted as the ETag header wants it. */
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The package's root: the nearest folder up with package.json (source checkout, dist/ or node_modules/netchecker). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('status page: package.json not found above the exporter');
    dir = up;
  }
  return dir;
}

function asset(path: string): Asset {
  const body = readFileSync(path);
  const ext = path.slice(path.lastIndexOf('.'));
  return { body, type: TYPES[ext] as string, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** The page (`index`) and its assets by file name; throws naming the missing file when the build has not run. */
export function loadAssets(root = packageRoot()): { index: Asset; files: ReadonlyMap<string, Asset> } {
  const compiled = join(root, 'dist', 'ui');
  if (!existsSync(join(compiled, 'page.js')))
    throw new Error(`status page: ${join(compiled, 'page.js')} is missing (run "npm run build", or --no-ui)`);
  const files = new Map<string, Asset>();
  for (const name of readdirSync(join(root, 'ui')))
    if (name.endsWith('.css') || name.endsWith('.svg')) files.set(name, asset(join(root, 'ui', name)));
  for (const name of readdirSync(compiled)) if (name.endsWith('.js')) files.set(name, asset(join(compiled, name)));
  return { index: asset(join(root, 'ui', 'index.html')), files };
}
