/**
 * Node-only helpers: zlib-backed decompression for the ZIP reader and PNG decoder. (In browsers,
 * pass any raw-DEFLATE / zlib decompressor with the same signature, e.g. a small inflate
 * library or a wrapper around DecompressionStream.) Not exported from the package's main entry,
 * so the library itself stays free of Node built-ins.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { ZipArchive } from './zip.js';
import { decodePng, type GrayImage } from './png.js';

export const nodeInflateRaw = (d: Uint8Array): Uint8Array => inflateRawSync(d);
export const nodeInflate = (d: Uint8Array): Uint8Array => inflateSync(d);

/** Opens a ZIP file; a missing file is an error naming its path. */
export function openZip(path: string): ZipArchive {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return new ZipArchive(bytes, nodeInflateRaw, path);
}

/** Decodes PNG bytes with Node's zlib. */
export function decodePngNode(bytes: Uint8Array, label?: string): GrayImage {
  return decodePng(bytes, nodeInflate, label);
}
