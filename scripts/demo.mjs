#!/usr/bin/env node
/**
 * `npm run demo`: serves the interactive demo (demo/) with the library's build and the shipped
 * Omniglot checkpoint, and prints its address.
 *
 *   npm run demo [-- --port 8080] [-- --host 127.0.0.1]
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { staticServer } from './static-server.mjs';

const root = resolve(import.meta.dirname, '..');
/** The checkpoint whose weights the character panel adapts. */
export const OMNIGLOT_CHECKPOINT = 'results/omniglot/maml-5way-1shot.safetensors';

/** The demo's server (not yet listening): the page, the library's build, the checkpoint. */
export function demoServer() {
  for (const need of [join(root, 'build', 'src', 'index.js'), join(root, OMNIGLOT_CHECKPOINT), join(root, 'demo', 'weights', 'sine.safetensors')]) {
    if (!existsSync(need)) throw new Error(`${need} is missing${need.includes('build') ? ': run npm run build (npm install does) first' : ''}`);
  }
  const server = staticServer({ '/demo/': join(root, 'demo'), '/build/src/': join(root, 'build', 'src'), [`/${OMNIGLOT_CHECKPOINT}`]: join(root, OMNIGLOT_CHECKPOINT) }, (req, res) => {
    if (req.url !== '/') return false;
    res.writeHead(302, { location: '/demo/' }).end();
    return true;
  });
  return server;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: npm run demo [-- --port 8080] [-- --host 127.0.0.1]\n\nServes the interactive demo and prints its address.');
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`metagrad demo: --port must be an integer in [0, 65535], got '${values.port}'`);
    process.exit(2);
  }
  let server;
  try {
    server = demoServer();
  } catch (e) {
    console.error(`metagrad demo: ${e.message}`);
    process.exit(2);
  }
  server.on('error', (e) => {
    console.error(`metagrad demo: cannot listen on ${values.host}:${port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(port, values.host, () => {
    const a = server.address();
    console.log(`metagrad demo: http://${values.host}:${a.port}/demo/  (Ctrl-C stops it)`);
  });
}
