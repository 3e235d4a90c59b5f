/**
 * Node-only helpers: zlib-backed decompression for the ZIP reader and PNG decoder (faster than
 * the portable inflate they default to), and atomic file writes. Not exported from the
 * package's main entry, so the library itself stays free of Node built-ins. Also lock files, so
 * that two runs never train into one checkpoint.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { Tensor } from '../tensor.js';
import { ZipArchive } from './zip.js';
import { decodePng, type GrayImage } from './png.js';

/** Raw-DEFLATE decompression by Node's zlib (an `InflateRaw` for {@link ZipArchive}). */
export const nodeInflateRaw = (d: Uint8Array, size: number): Uint8Array => inflateRawSync(d, { maxOutputLength: Math.max(1, size) });
/** zlib-stream decompression by Node's zlib (an `Inflate` for `decodePng`). */
export const nodeInflate = (d: Uint8Array, limit: number): Uint8Array => inflateSync(d, { maxOutputLength: Math.max(1, Math.min(limit, 2 ** 32)) });

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
  if (isDirectory(path)) throw new Error(`${path}: cannot write (it is a directory; name a file in it)`);
  try {
    makeParents(path);
    removeStaleTemporaries(path);
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

/** The nearest existing parent of `path` when it is not a directory (mkdir would say EEXIST), else null. */
function fileAmongParents(path: string): string | null {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      return statSync(dir).isDirectory() ? null : dir;
    } catch {
      if (dirname(dir) === dir) return null;
    }
  }
}

/**
 * Creates the missing parent directories of `path`. A recursive mkdir that cannot create one
 * reports ENOENT whatever the cause; creating the first missing one alone gives the real code
 * (EROFS on a read-only file system, EACCES, …), which is what the caller's error then names.
 */
function makeParents(path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let missing = dir;
    while (dirname(missing) !== missing && !isDirectory(dirname(missing))) missing = dirname(missing);
    mkdirSync(missing); // throws with the real code
    throw e;
  }
}

/** Whether `path` names an existing directory. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Removes the temporaries `path.tmp-PID-TIME` and `path.probe-PID-TIME` that a process killed
 * in the middle of a write left beside `path` (up to a checkpoint's size each); those of a
 * process still running are its own writes in progress and stay.
 */
function removeStaleTemporaries(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(?:tmp|probe)-(\d+)-\d+$/.exec(name.slice(prefix.length)) : null;
    if (m === null || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { force: true });
  }
}

/**
 * Checks, before any long work, that a file can later be written at `path`: creates the missing
 * parent directories and writes and removes a temporary file beside `path`, which itself is not
 * touched. Throws an error naming `path` otherwise.
 */
export function checkWritable(path: string): void {
  const tmp = `${path}.probe-${process.pid}-${Date.now()}`;
  if (isDirectory(path)) throw new Error(`${path}: cannot write (it is a directory; name a file in it)`);
  try {
    makeParents(path);
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

/** Whether process `pid` runs on this machine (EPERM: it does, under another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Who holds a lock file: its process, `'empty'` (gone, or its writer died before writing a
 * word), or `'other'` for a file that is not a lock (never removed: it may be someone's).
 */
function lockHolder(lock: string): { pid: number; host: string } | 'empty' | 'other' {
  let text: string;
  try {
    text = readFileSync(lock, 'utf8');
  } catch {
    return 'empty';
  }
  if (text === '') return 'empty';
  try {
    const v: unknown = JSON.parse(text);
    const h = v as { pid?: unknown; host?: unknown };
    if (typeof v === 'object' && v !== null && Number.isInteger(h.pid) && typeof h.host === 'string') return { pid: h.pid as number, host: h.host };
  } catch {
    // not JSON: not a lock
  }
  return 'other';
}

/**
 * Claims `path` for this process through a lock file `${path}.lock`, created exclusively and
 * holding the process id and host name, so that two runs never write one checkpoint in turn
 * (each would keep replacing the other's progress). A lock whose process no longer runs on this
 * machine, or that is empty, is stale and taken over; one held by a live process, or by a
 * process on another machine (which cannot be checked from here), is refused with an error
 * naming it, and so is a file there that is not a lock (it is never removed). Returns the release function, which removes the lock if this process still holds
 * it; it also runs when the process exits, however it exits short of being killed.
 */
export function lockFile(path: string): () => void {
  const lock = `${path}.lock`;
  const me = { pid: process.pid, host: hostname() };
  const blocker = fileAmongParents(lock);
  if (blocker !== null) throw new Error(`${path}: cannot write its lock file ${lock} (ENOTDIR: ${blocker} is a file, not a directory)`);
  try {
    makeParents(lock);
  } catch (e) {
    throw new Error(`${path}: cannot write its lock file ${lock} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      writeFileSync(lock, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new Error(`${path}: cannot write its lock file ${lock} (${code ?? String(e)})`);
    }
    const holder = lockHolder(lock);
    if (holder === 'other') throw new Error(`${lock} exists but is not a lock file; remove it if no run uses ${path}`);
    if (holder !== 'empty' && (holder.host !== me.host || processAlive(holder.pid))) {
      const who = `process ${holder.pid}${holder.host !== me.host ? ` on ${holder.host}` : ''}`;
      throw new Error(`${path} is in use by another run (${who}); stop it first, or remove ${lock} if no run uses it`);
    }
    // Stale: its process is gone. Remove it and try again (twice at most: another run starting
    // at the same moment may take it first, and is then named above).
    if (attempt === 3) throw new Error(`${lock}: a stale lock file could not be replaced`);
    try {
      rmSync(lock, { force: true });
    } catch (e) {
      throw new Error(`${lock}: cannot remove the stale lock file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  const release = (): void => {
    process.off('exit', release);
    const holder = lockHolder(lock);
    if (typeof holder === 'object' && holder.pid === me.pid && holder.host === me.host) rmSync(lock, { force: true });
  };
  process.on('exit', release);
  return release;
}
