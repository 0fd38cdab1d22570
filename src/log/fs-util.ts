// Small file helpers for the file store: synchronous ones, and async variants for work that leaves the event loop.
//
// `fs` is used through its default export (fs.openSync, fs.fsyncSync, ...) so that tests can
// spy on individual calls.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Reads exactly `length` bytes at `position` unless the file ends first; returns bytes read. */
export function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Writes all of `buf` at `position`. */
export function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync directories; the data itself is synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Replaces `file` atomically: write a temp file in the same directory, fsync, rename, fsync dir. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const dir = path.dirname(file);
  // Short temp name: the target name may already be close to NAME_MAX (249-char topic + ".json").
  const tmp = path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    writeFully(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

/** Removes leftover temp files written by writeFileAtomic. */
export function removeTempFiles(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('.tmp-')) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** writeFileAtomic off the event loop (temp file, fsync, rename, directory fsync). */
export async function writeFileAtomicAsync(file: string, data: Buffer): Promise<void> {
  const dir = path.dirname(file);
  const tmp = await writeTempFileAsync(dir, data);
  try {
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDirAsync(dir);
}

/**
 * The first half of writeFileAtomicAsync: `data` written to a temp file in `dir` and synced, off
 * the event loop; returns its path. The caller renames it on the event loop (or removes it),
 * where the decision cannot interleave with other work, then syncs the directory.
 */
export async function writeTempFileAsync(dir: string, data: Buffer): Promise<string> {
  const tmp = path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return tmp;
}

/** fsyncDir off the event loop. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms cannot fsync directories; the data itself is synced.
  } finally {
    await fh?.close();
  }
}
