// Partition directories the file store cannot place, and those it is deleting, named as Kafka
// names them (LocalLog.logDirNameWithSuffixCappedLength): `<topic>-<partition>.<uuid>-stray` and
// `<topic>-<partition>.<uuid>-delete`, the topic cut short so the name stays within 255 bytes.
//
// A stray directory holds data that belongs to no current topic (its topic file is gone, or names a
// different topic id): the store never deletes such data, it moves it aside, logs it and leaves it
// to the operator (Kafka's stray logs, KAFKA-15605). A `-delete` directory belongs to a
// topic being deleted: it goes at the next open if the process died first.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from './fs-util.js';

export const STRAY_SUFFIX = '-stray';
export const DELETE_SUFFIX = '-delete';
export const STRAY_DIR = /^(.+)-(\d+)\.([0-9a-f]{32})-stray$/;
export const DELETE_DIR = /^(.+)-(\d+)\.([0-9a-f]{32})-delete$/;

/** `<topic>-<partition>.<uuid><suffix>`, the topic cut to keep the name within 255 characters. */
export function suffixedDirName(topic: string, partition: number, suffix: string): string {
  const full = `-${partition}.${randomBytes(16).toString('hex')}${suffix}`;
  return topic.slice(0, Math.min(topic.length, 255 - full.length)) + full;
}

/** true if the directory has a segment with at least one byte (an empty leftover holds nothing). */
export function holdsData(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return true; // unreadable: assume it does, so it is kept
  }
  for (const name of names) {
    if (!/\.log(\.swap)?$/.test(name)) continue;
    try {
      if (fs.statSync(path.join(dir, name)).size > 0) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** Renames a partition directory to a fresh stray name next to it; returns the new path. */
export function moveAside(dir: string, topic: string, partition: number): string {
  const to = path.join(path.dirname(dir), suffixedDirName(topic, partition, STRAY_SUFFIX));
  fs.renameSync(dir, to);
  fsyncDir(path.dirname(dir));
  return to;
}
