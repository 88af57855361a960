/**
 * Parsing of durations and sizes on the command line (`30d`, `500M`) and formatting of byte counts.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Parse `90s`, `30m`, `12h`, `7d`, `2w` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (m === null) throw new BpfCompileError(ErrorCode.USAGE, `not a duration: '${text}'`, { hint: 'use a number with s, m, h, d or w, e.g. 7d' });
  return Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
}

/** Parse `500M`, `2G`, `1024` (bytes) into bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : SIZE_UNITS[(m[2] as string).toLowerCase()];
  if (m === null || unit === undefined) throw new BpfCompileError(ErrorCode.USAGE, `not a size: '${text}'`, { hint: 'use bytes or a number with K, M or G, e.g. 500M' });
  return Math.floor(Number(m[1]) * unit);
}

/** `12.3 MiB`-style text. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
