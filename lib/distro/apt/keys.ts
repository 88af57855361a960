/**
 * Which OpenPGP keys an apt source trusts, as apt decides it: `Signed-By` keyrings (or an inline key) when the source
 * names them, else the system keyrings `etc/apt/trusted.gpg` and `etc/apt/trusted.gpg.d/*.{gpg,asc}`. Fingerprints in
 * `Signed-By` select keys among those keyrings. Every path is read under the target root; keys are trusted per
 * source, never merged across sources.
 */
import fs from 'node:fs';
import path from 'node:path';
import { underRoot } from '../../system/root.js';
import { fetchError } from '../../fetch/errors.js';
import { mergeKeys, readPublicKeys, restrictKeys, type PublicKeys } from '../openpgp.js';
import type { AptSource } from './sources.js';

/** The keys of one source and where they were read from. */
export interface SourceKeys {
  readonly keys: PublicKeys;
  /** Keyring files (system paths) or `inline Signed-By`. */
  readonly from: readonly string[];
}

/** Reads keyrings once per resolve. */
export class KeyringReader {
  private readonly files = new Map<string, Promise<PublicKeys>>();
  constructor(private readonly root: string) {}

  /** Keys of one keyring file (system path). @throws BpfCompileError reason `signature` when unreadable. */
  file(systemPath: string): Promise<PublicKeys> {
    let p = this.files.get(systemPath);
    if (p === undefined) {
      p = (async () => {
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(underRoot(this.root, systemPath));
        } catch (err) {
          throw fetchError('signature', `cannot read keyring ${systemPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
            hint: 'install the keyring package that provides it (Debian: debian-archive-keyring; Ubuntu: ubuntu-keyring), or fix Signed-By',
            details: { keyring: systemPath },
          });
        }
        return readPublicKeys(bytes, systemPath);
      })();
      this.files.set(systemPath, p);
    }
    return p;
  }

  /** The system keyrings: `trusted.gpg` and `trusted.gpg.d/*.gpg|*.asc` (those that exist). */
  async system(): Promise<SourceKeys> {
    const paths: string[] = [];
    if (fs.existsSync(underRoot(this.root, '/etc/apt/trusted.gpg'))) paths.push('/etc/apt/trusted.gpg');
    let names: string[] = [];
    try {
      names = fs
        .readdirSync(underRoot(this.root, '/etc/apt/trusted.gpg.d'))
        .filter((n) => /\.(gpg|asc)$/.test(n))
        .sort();
    } catch {
      // none
    }
    paths.push(...names.map((n) => path.posix.join('/etc/apt/trusted.gpg.d', n)));
    const sets = await Promise.all(paths.map((p) => this.file(p)));
    return { keys: mergeKeys(sets), from: paths };
  }

  /** The keys `source` trusts. */
  async forSource(source: AptSource): Promise<SourceKeys> {
    const sb = source.signedBy;
    if (sb === undefined) return this.system();
    const sets: PublicKeys[] = [];
    const from: string[] = [];
    if (sb.inlineKey !== undefined) {
      sets.push(await readPublicKeys(Buffer.from(sb.inlineKey), `inline Signed-By of ${source.origin}`));
      from.push(`inline Signed-By (${source.origin})`);
    }
    for (const k of sb.keyrings) {
      sets.push(await this.file(k));
      from.push(k);
    }
    if (sb.fingerprints.length > 0) {
      // fingerprints alone select among the system keyrings
      const system = sets.length > 0 ? undefined : await this.system();
      const pool = system === undefined ? mergeKeys(sets) : system.keys;
      if (system !== undefined) from.push(...system.from);
      return { keys: restrictKeys(pool, sb.fingerprints), from: [...from, `fingerprints ${sb.fingerprints.join(', ')}`] };
    }
    return { keys: mergeKeys(sets), from };
  }
}
