/**
 * `metagrad/node`: the Node-only parts (file and zlib access), kept out of the main entry so the
 * library itself stays browser-safe: ZIP/PNG reading with zlib and the Omniglot loader.
 */
export { openZip, decodePngNode, nodeInflate, nodeInflateRaw, writeFileAtomicSync, saveSafetensors, loadSafetensors } from './io/node.js';
export { loadOmniglot, type LoadOptions } from './tasks/omniglot-node.js';
