/**
 * Node-only helpers: zlib-backed decompression for the ZIP reader and PNG decoder (faster than
 * the portable inflate they default to), and atomic file writes. Not exported from the
 * package's main entry, so the library itself stays free of Node built-ins.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { Tensor } from '../tensor.js';
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

/**
 * Writes `bytes` to `path` atomically: a temporary file beside it is written and flushed to disk,
 * then renamed over `path`. A reader (or a crash) never sees a half-written file, and a failure
 * leaves any previous file at `path` untouched.
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    let o = 0;
    while (o < bytes.length) o += writeSync(fd, bytes, o, bytes.length - o);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new Error(`${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Saves named tensors and string metadata as a safetensors file, atomically. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomicSync(path, encodeSafetensors(tensors, metadata));
}

/** Loads a safetensors file; errors name the path. */
export function loadSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return decodeSafetensors(bytes, path);
}
