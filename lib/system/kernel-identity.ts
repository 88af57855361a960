/**
 * Which package build a kernel is. `uname -r` names an ABI (`6.1.0-57-amd64`), which several uploads share; the
 * distro leaves the package version in `/proc/version` (Debian: `… #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3
 * (2026-11-26)`) and, on Ubuntu, in `/proc/version_signature` (`Ubuntu 5.15.0-91.101-generic 5.15.131`).
 * Both are read under the root and used only when they describe the target release.
 */
import fs from 'node:fs';
import { underRoot } from './root.js';

/** A kernel's package identity. */
export interface KernelIdentity {
  /** `debian` or `ubuntu`. */
  readonly distro: 'debian' | 'ubuntu';
  /** The package version of the kernel (`6.1.192-3`, `5.15.0-91.101`). */
  readonly packageVersion: string;
  /** The file it was read from (system path) and the text. */
  readonly from: string;
  readonly text: string;
}

/** Parse `/proc/version` text for the release it names and a Debian package version. */
export function parseProcVersion(text: string): { release: string | undefined; debianVersion: string | undefined } {
  const release = /^Linux version (\S+)/.exec(text)?.[1];
  // in the `uname -v` part (after `#1 SMP …`), not the compiler's "(Debian 12.2.0-14)" before it
  const hash = text.search(/\)\s+#\d/);
  const debianVersion = /\bDebian (\d[A-Za-z0-9.+~:-]*)/.exec(hash < 0 ? text : text.slice(hash))?.[1];
  return { release, debianVersion };
}

/** Parse `/proc/version_signature` (`Ubuntu 5.15.0-91.101-generic 5.15.131`) into the release and package version. */
export function parseVersionSignature(text: string): { release: string; packageVersion: string } | undefined {
  const m = /^Ubuntu (\d+\.\d+\.\d+-\d+)\.(\d+)(?:~[^-\s]*)?-(\S+)\s/.exec(`${text.trim()} `);
  if (m === null) return undefined;
  return { release: `${m[1] as string}-${m[3] as string}`, packageVersion: `${m[1] as string}.${m[2] as string}` };
}

function read(root: string, p: string): string | undefined {
  try {
    return fs.readFileSync(underRoot(root, p), 'utf8');
  } catch {
    return undefined;
  }
}

/** The identity of `release` as the target system's `/proc` tells it, or undefined when `/proc` describes another kernel or says nothing. */
export function readKernelIdentity(root: string, release: string): KernelIdentity | undefined {
  const sig = read(root, '/proc/version_signature');
  if (sig !== undefined) {
    const s = parseVersionSignature(sig);
    if (s !== undefined && s.release === release) return { distro: 'ubuntu', packageVersion: s.packageVersion, from: '/proc/version_signature', text: sig.trim() };
  }
  const pv = read(root, '/proc/version');
  if (pv === undefined) return undefined;
  const v = parseProcVersion(pv);
  if (v.release !== release || v.debianVersion === undefined) return undefined;
  return { distro: 'debian', packageVersion: v.debianVersion, from: '/proc/version', text: pv.trim() };
}
