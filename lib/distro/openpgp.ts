/**
 * OpenPGP signature checks for repository metadata, through OpenPGP.js (`openpgp`, loaded on first use: a warm
 * resolve never pays for it). No cryptography is written here.
 *
 * A signed text is trusted when at least one of its signatures verifies against a key the caller allows; the text
 * returned is the one OpenPGP.js verified (`verify().data`), never the input (CVE-2023-41037: text outside the signed
 * part of a clearsigned message must not be read).
 */
import { fetchError } from '../fetch/errors.js';

type OpenPgp = typeof import('openpgp');
type Key = Awaited<ReturnType<OpenPgp['readKeys']>>[number];

let loaded: Promise<OpenPgp> | undefined;
function openpgp(): Promise<OpenPgp> {
  loaded ??= import('openpgp');
  return loaded;
}

/** Public keys, as read from keyring files (binary `.gpg` or armored `.asc`) or an inline block. */
export interface PublicKeys {
  /** @internal OpenPGP.js key objects. */
  readonly keys: readonly Key[];
  /** Primary key fingerprints (uppercase hex), for messages. */
  readonly fingerprints: readonly string[];
}

/** Read keys from bytes: armored when the text holds `-----BEGIN PGP PUBLIC KEY BLOCK-----`, else a binary keyring. */
export async function readPublicKeys(bytes: Uint8Array, label: string): Promise<PublicKeys> {
  const pgp = await openpgp();
  const text = Buffer.from(bytes.subarray(0, Math.min(bytes.byteLength, 65536))).toString('latin1');
  let keys: Key[];
  try {
    if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      // a key file may hold several armored blocks one after another (rpm-gpg key files do): read each
      const blocks =
        Buffer.from(bytes)
          .toString('utf8')
          .match(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g) ?? [];
      keys = (await Promise.all(blocks.map((armoredKeys) => pgp.readKeys({ armoredKeys })))).flat();
    } else keys = await pgp.readKeys({ binaryKeys: bytes });
  } catch (err) {
    throw fetchError('signature', `cannot read OpenPGP keys from ${label}: ${(err as Error).message}`, {
      hint: 'the keyring is not an OpenPGP public keyring (.gpg binary or .asc armored; apt does not read keybox .kbx files either)',
      cause: err,
      details: { keyring: label },
    });
  }
  return { keys, fingerprints: keys.map((k) => k.getFingerprint().toUpperCase()) };
}

/** Merge key sets (duplicates by fingerprint dropped). */
export function mergeKeys(sets: readonly PublicKeys[]): PublicKeys {
  const seen = new Set<string>();
  const keys: Key[] = [];
  for (const set of sets) {
    set.keys.forEach((k, i) => {
      const fp = set.fingerprints[i] as string;
      if (!seen.has(fp)) {
        seen.add(fp);
        keys.push(k);
      }
    });
  }
  return { keys, fingerprints: [...seen] };
}

/** Keep the keys whose primary fingerprint, or one of whose subkeys' fingerprints, is listed. */
export function restrictKeys(set: PublicKeys, fingerprints: readonly string[]): PublicKeys {
  const wanted = new Set(fingerprints.map((f) => f.replace(/\s/g, '').toUpperCase()));
  const keys: Key[] = [];
  const fps: string[] = [];
  set.keys.forEach((k, i) => {
    const all = [set.fingerprints[i] as string, ...k.getSubkeys().map((s) => s.getFingerprint().toUpperCase())];
    if (all.some((f) => wanted.has(f) || [...wanted].some((w) => w.length >= 16 && f.endsWith(w)))) {
      keys.push(k);
      fps.push(set.fingerprints[i] as string);
    }
  });
  return { keys, fingerprints: fps };
}

/** A signature check that passed. */
export interface VerifiedText {
  /** The signed text, as verified. */
  readonly text: string;
  /** Key ids (hex) of the signatures that verified. */
  readonly signers: readonly string[];
}

async function judge(signatures: ReadonlyArray<{ readonly keyID: { toHex(): string }; readonly verified: Promise<unknown> }>, keys: PublicKeys, what: string): Promise<string[]> {
  const good: string[] = [];
  const bad: string[] = [];
  for (const s of signatures) {
    try {
      await s.verified;
      good.push(s.keyID.toHex().toUpperCase());
    } catch (err) {
      bad.push(`${s.keyID.toHex().toUpperCase()}: ${(err as Error).message}`);
    }
  }
  if (good.length === 0) {
    const ids = signatures.map((s) => s.keyID.toHex().toUpperCase());
    throw fetchError('signature', `${what}: no valid signature by an allowed key (signed by ${ids.join(', ') || 'nobody'}; ${bad.join('; ')})`, {
      hint:
        keys.keys.length === 0
          ? 'no key is allowed for this repository: check its Signed-By keyring (or etc/apt/trusted.gpg.d/)'
          : `the allowed keys are ${keys.fingerprints.join(', ')}: the file was tampered with, or the repository is signed by a key this source does not trust (install its keyring, or fix Signed-By)`,
      details: { file: what, keyIds: ids, allowed: keys.fingerprints },
    });
  }
  return good;
}

/** Verify a clearsigned text (`InRelease`). @throws BpfCompileError `INPUT_UNREADABLE` reason `signature`. */
export async function verifyClearsigned(armored: string, keys: PublicKeys, what: string): Promise<VerifiedText> {
  const pgp = await openpgp();
  let result;
  try {
    const message = await pgp.readCleartextMessage({ cleartextMessage: armored });
    result = await pgp.verify({ message, verificationKeys: [...keys.keys] });
  } catch (err) {
    throw fetchError('signature', `${what} is not a valid clearsigned OpenPGP message: ${(err as Error).message}`, { cause: err, details: { file: what } });
  }
  const signers = await judge(result.signatures, keys, what);
  return { text: result.data, signers };
}

/** Verify a detached signature (`Release` + `Release.gpg`, `repomd.xml` + `.asc`). @throws BpfCompileError reason `signature`. */
export async function verifyDetached(data: Uint8Array, signature: Uint8Array, keys: PublicKeys, what: string): Promise<VerifiedText> {
  const signers = await verifyDetachedSigners(data, signature, keys, what);
  return { text: Buffer.from(data).toString('utf8'), signers };
}

/** Verify a detached signature (armored or binary) over bytes; returns the key ids that signed. @throws BpfCompileError reason `signature`. */
export async function verifyDetachedSigners(data: Uint8Array, signature: Uint8Array, keys: PublicKeys, what: string): Promise<readonly string[]> {
  const pgp = await openpgp();
  let result;
  try {
    const sigText = Buffer.from(signature).toString('latin1');
    const sig = sigText.includes('-----BEGIN PGP SIGNATURE-----')
      ? await pgp.readSignature({ armoredSignature: sigText })
      : await pgp.readSignature({ binarySignature: signature });
    const message = await pgp.createMessage({ binary: data });
    result = await pgp.verify({ message, signature: sig, verificationKeys: [...keys.keys], format: 'binary' });
  } catch (err) {
    throw fetchError('signature', `${what}: cannot check its detached signature: ${(err as Error).message}`, { cause: err, details: { file: what } });
  }
  return judge(result.signatures, keys, what);
}
