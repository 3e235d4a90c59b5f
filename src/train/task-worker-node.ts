/** A Node worker thread of {@link TaskWorkers} (metagrad/node): {@link taskServer} on its port. */
import { parentPort } from 'node:worker_threads';
import { taskServer } from './task-server.js';

const port = parentPort;
if (port === null) throw new Error('task-worker-node: this module runs as a worker thread started by TaskWorkers, not on its own');
port.on('message', taskServer((message, transfer) => port.postMessage(message, transfer)));
