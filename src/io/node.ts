/**
 * Node-only helpers: zlib-backed decompression for the ZIP reader and PNG decoder (faster than
 * the portable inflate they default to), and atomic file writes. Not exported from the
 * package's main entry, so the library itself stays free of Node built-ins.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { Tensor } from '../tensor.js';
import { ZipArchive } from './zip.js';
import { decodePng, type GrayImage } from './png.js';

/** Raw-DEFLATE decompression by Node's zlib (an `InflateRaw` for {@link ZipArchive}). */
export const nodeInflateRaw = (d: Uint8Array): Uint8Array => inflateRawSync(d);
/** zlib-stream decompression by Node's zlib (an `Inflate` for `decodePng`). */
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
 * Writes `data` (bytes, or text as UTF-8) to `path` atomically: missing parent directories are
 * created, a temporary file beside `path` is written and flushed to disk, then renamed over
 * `path`. A reader (or a crash) never sees a half-written file, and a failure leaves any previous
 * file at `path` untouched and no temporary file behind; its error names `path`.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd: number | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(tmp, 'w');
    let o = 0;
    while (o < bytes.length) o += writeSync(fd, bytes, o, bytes.length - o);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The temporary file was never created (e.g. a parent path is a file); nothing to remove.
    }
    throw new Error(`${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/**
 * Checks, before any long work, that a file can later be written at `path`: creates the missing
 * parent directories and writes and removes a temporary file beside `path`, which itself is not
 * touched. Throws an error naming `path` otherwise.
 */
export function checkWritable(path: string): void {
  const tmp = `${path}.probe-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(tmp, 'w'));
    rmSync(tmp);
  } catch (e) {
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
