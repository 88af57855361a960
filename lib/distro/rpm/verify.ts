/**
 * An RPM package's own integrity and signature, judged from what the streamed unpacking recorded
 * (`archive/rpm.ts`), before the unpacked tree may be published:
 *
 * - the signature header's `SHA256` of the main header, when present, must match the header's bytes;
 * - the main header's `PAYLOADDIGEST` must match the payload as streamed (a header signature proves the payload only
 *   through it);
 * - with `gpgcheck`, an OpenPGP signature by an allowed key must verify: the header-only signature (`RSA`/`DSA` tags)
 *   when the header carries a payload digest, else a legacy header+payload signature (`PGP`/`GPG` tags, EL ≤ 7),
 *   checked over the package file's bytes from the main header on. An unsigned package is refused.
 *
 * The cryptography is OpenPGP.js's (`../openpgp.ts`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fetchError } from '../../fetch/errors.js';
import { binTag, SIG_TAG, stringTag, TAG } from '../../archive/rpm-header.js';
import type { RpmContainerInfo } from '../../archive/rpm.js';
import { verifyDetachedSigners, type PublicKeys } from '../openpgp.js';

/** What {@link verifyRpmPackage} established. */
export interface RpmVerdict {
  /** Key ids whose signature verified (empty without gpgcheck). */
  readonly signers: readonly string[];
  /** Which signature that was. */
  readonly signature: 'header' | 'header+payload' | 'not checked (gpgcheck=0)';
}

/**
 * Check one unpacked package. `keys` undefined: gpgcheck is off (digests are still checked).
 * @throws BpfCompileError `INPUT_UNREADABLE` reason `checksum` (a digest does not match) or `signature`.
 */
export async function verifyRpmPackage(info: RpmContainerInfo, file: string, keys: PublicKeys | undefined, what: string): Promise<RpmVerdict> {
  const headerSha = stringTag(info.signature, SIG_TAG.SHA256);
  if (headerSha !== undefined && createHash('sha256').update(info.header.bytes).digest('hex') !== headerSha.toLowerCase()) {
    throw fetchError('checksum', `${what}: its header does not match the header digest in its signature header`, { url: what, details: { tag: 'SHA256' } });
  }
  const payloadDigest = stringTag(info.header, TAG.PAYLOADDIGEST);
  if (payloadDigest !== undefined && payloadDigest.toLowerCase() !== info.payloadDigest) {
    throw fetchError(
      'checksum',
      `${what}: its payload does not match the PAYLOADDIGEST its header records (${info.payloadAlgo} ${payloadDigest.slice(0, 16)}…, got ${info.payloadDigest.slice(0, 16)}…): the payload was altered`,
      {
        url: what,
        details: { expected: payloadDigest, actual: info.payloadDigest, algorithm: info.payloadAlgo },
      },
    );
  }
  if (keys === undefined) return { signers: [], signature: 'not checked (gpgcheck=0)' };
  const headerSig = binTag(info.signature, SIG_TAG.RSA) ?? binTag(info.signature, SIG_TAG.DSA);
  if (headerSig !== undefined && payloadDigest !== undefined) {
    return { signers: await verifyDetachedSigners(info.header.bytes, headerSig, keys, what), signature: 'header' };
  }
  const legacy = binTag(info.signature, SIG_TAG.PGP) ?? binTag(info.signature, SIG_TAG.GPG);
  if (legacy !== undefined) {
    const bytes = fs.readFileSync(file).subarray(info.headerOffset);
    return { signers: await verifyDetachedSigners(bytes, legacy, keys, what), signature: 'header+payload' };
  }
  throw fetchError(
    'signature',
    `${what} is not signed${headerSig !== undefined ? ' over its payload (a header signature without a PAYLOADDIGEST proves nothing of the files)' : ''}, and its repository has gpgcheck=1`,
    {
      url: what,
      hint: 'a package of a distribution repository is always signed: the mirror serves something else. If this repository really ships unsigned packages (a local build), set gpgcheck=0 for it — then only its https transport or signed metadata vouch for it',
      details: { package: what },
    },
  );
}
