/**
 * What a header tree says about itself: `UTS_RELEASE` and `LINUX_VERSION_CODE` from its generated headers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeVersionCode, formatVersion } from '../target.js';

/** Version facts read from a kernel header tree's generated headers. */
export interface HeaderVersion {
  /** `UTS_RELEASE` from `include/generated/utsrelease.h`, when readable. */
  readonly utsRelease: string | undefined;
  /** `LINUX_VERSION_CODE` from `include/generated/uapi/linux/version.h`, when readable. */
  readonly linuxVersionCode: number | undefined;
  /** `a.b.c` decoded from `LINUX_VERSION_CODE`. */
  readonly version: string | undefined;
}

/** The text of `rel` in the first tree that has it (two small headers: read synchronously). */
function readFirst(dirs: readonly string[], rel: string): string | undefined {
  for (const dir of dirs) {
    try {
      return fs.readFileSync(path.join(dir, rel), 'utf8');
    } catch {
      // try the next tree
    }
  }
  return undefined;
}

/** Extract `#define NAME "value"` or `#define NAME value` from C text. */
export function readDefine(text: string, name: string): string | undefined {
  const re = new RegExp(`^\\s*#\\s*define\\s+${name}\\s+(?:"([^"\\n]*)"|(\\S+))`, 'm');
  const m = re.exec(text);
  if (m === null) return undefined;
  return m[1] ?? m[2];
}

/** Read UTS_RELEASE and LINUX_VERSION_CODE from the build tree first, then the source tree. */
export async function readHeaderVersion(trees: readonly string[]): Promise<HeaderVersion> {
  const uts = readFirst(trees, 'include/generated/utsrelease.h');
  const ver = readFirst(trees, 'include/generated/uapi/linux/version.h');
  const utsRelease = uts === undefined ? undefined : readDefine(uts, 'UTS_RELEASE');
  const codeText = ver === undefined ? undefined : readDefine(ver, 'LINUX_VERSION_CODE');
  const code = codeText !== undefined && /^\d+$/.test(codeText) ? Number(codeText) : undefined;
  return {
    utsRelease,
    linuxVersionCode: code,
    version: code === undefined ? undefined : formatVersion(decodeVersionCode(code)),
  };
}
