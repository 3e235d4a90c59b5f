/**
 * `metagrad/node`: the Node-only parts (files, zlib, threads), kept out of the main entry so the
 * library itself stays browser-safe: ZIP/PNG reading with zlib, the Omniglot loader, and MAML's
 * meta-batch spread over worker threads.
 */
export { openZip, decodePngNode, nodeInflate, nodeInflateRaw, writeFileAtomicSync, checkWritable, lockFile, saveSafetensors, loadSafetensors } from './io/node.js';
export { loadOmniglot, type LoadOptions } from './tasks/omniglot-node.js';
export { TaskWorkers, type TaskWorkersOptions } from './train/task-workers-node.js';
export { omniglotEmbeddings, type Embeddings, type EmbeddingOptions } from './experiments/embeddings-node.js';
