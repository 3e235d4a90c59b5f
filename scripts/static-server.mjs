/**
 * A local HTTP server for the browser pages (the demo, the browser checks): GET serves files
 * from the folders and files it is given, nothing else; unknown, outside or malformed paths are
 * answered 404.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.json': 'application/json', '.zip': 'application/zip', '.svg': 'image/svg+xml', '.png': 'image/png' };

/**
 * The file a request path names: `mounts` maps URL prefixes ending in '/' to folders, and
 * other URL paths to single files. Undefined when nothing is mounted there or no file exists.
 */
export function fileFor(mounts, url) {
  let path;
  try {
    path = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return undefined; // a malformed %-escape
  }
  for (const [prefix, target] of Object.entries(mounts)) {
    if (!prefix.endsWith('/')) {
      if (path === prefix && existsSync(target) && statSync(target).isFile()) return target;
      continue;
    }
    if (!path.startsWith(prefix)) continue;
    const dir = resolve(target);
    const file = resolve(dir, path.slice(prefix.length) || 'index.html');
    if (file.startsWith(dir + sep) && existsSync(file) && statSync(file).isFile()) return file;
  }
  return undefined;
}

/** An http.Server serving `mounts` (see {@link fileFor}); `onRequest` may answer a request first (returning true). */
export function staticServer(mounts, onRequest) {
  return createServer((req, res) => {
    if (onRequest?.(req, res) === true) return;
    const file = req.method === 'GET' ? fileFor(mounts, req.url ?? '/') : undefined;
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(readFileSync(file));
  });
}
