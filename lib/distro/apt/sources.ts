/**
 * apt's repository list, as `sources.list(5)` defines it: the one-line form (`etc/apt/sources.list`,
 * `etc/apt/sources.list.d/*.list`) and the deb822 form (`etc/apt/sources.list.d/*.sources`), read under a root.
 * Pure parsing here (plus one reader at the end); which keys a source trusts is `keys.ts`'s concern.
 */
import fs from 'node:fs';
import path from 'node:path';
import { underRoot } from '../../system/root.js';

/** One repository: a URI, a suite and its components, as apt would fetch it. */
export interface AptSource {
  /** Base URI (no trailing slash), e.g. `http://deb.debian.org/debian`. */
  readonly uri: string;
  /** Suite (`bookworm-security`), or an exact path when `flat` (it ended in `/`). */
  readonly suite: string;
  /** Components (`main`, …); empty for a flat repository. */
  readonly components: readonly string[];
  /** True for a flat repository (`deb uri path/`): the index lives at `<uri>/<suite>` with no `dists/`. */
  readonly flat: boolean;
  /** `Architectures` restriction (undefined: any). */
  readonly architectures: readonly string[] | undefined;
  /** `Signed-By`: keyring paths, fingerprints, or one inline armored key block. Undefined: the default keyrings. */
  readonly signedBy: SignedBy | undefined;
  /** `Check-Valid-Until` / `check-valid-until` for this source (undefined: apt's global option). */
  readonly checkValidUntil: boolean | undefined;
  /** Where it was declared (`/etc/apt/sources.list.d/debian.sources:1`). */
  readonly origin: string;
}

/** What a source's `Signed-By` names. */
export interface SignedBy {
  /** Absolute keyring paths (on the target system). */
  readonly keyrings: readonly string[];
  /** Fingerprints (uppercase hex, no spaces; a trailing `!` — an exact subkey — is dropped). */
  readonly fingerprints: readonly string[];
  /** An inline ASCII-armored key block (deb822 only). */
  readonly inlineKey: string | undefined;
}

/** A line or stanza that could not be used, with why. */
export interface AptSourceProblem {
  readonly origin: string;
  readonly problem: string;
}

/** Parsed sources plus what was skipped. */
export interface AptSources {
  readonly sources: readonly AptSource[];
  readonly problems: readonly AptSourceProblem[];
  /** Files read. */
  readonly files: readonly string[];
}

function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (['yes', 'true', 'with', 'on', 'enable', '1'].includes(s)) return true;
  if (['no', 'false', 'without', 'off', 'disable', '0'].includes(s)) return false;
  return undefined;
}

/** Split `Signed-By` into keyring paths and fingerprints (an armored block is recognised by the caller). */
export function parseSignedBy(value: string): SignedBy {
  const trimmed = value.trim();
  if (trimmed.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return { keyrings: [], fingerprints: [], inlineKey: trimmed };
  const keyrings: string[] = [];
  const fingerprints: string[] = [];
  for (const item of trimmed.split(/[\s,]+/).filter(Boolean)) {
    if (item.startsWith('/')) keyrings.push(item);
    else fingerprints.push(item.replace(/!$/, '').toUpperCase());
  }
  return { keyrings, fingerprints, inlineKey: undefined };
}

function normalizeUri(uri: string): string {
  return uri.replace(/\/+$/, '');
}

function expand(
  types: readonly string[],
  uris: readonly string[],
  suites: readonly string[],
  components: readonly string[],
  options: ReadonlyMap<string, string>,
  origin: string,
  problems: AptSourceProblem[],
): AptSource[] {
  if (!types.includes('deb')) return []; // deb-src only: no binary packages
  const archs = options
    .get('architectures')
    ?.split(/[\s,]+/)
    .filter(Boolean);
  const signed = options.get('signed-by');
  const checkValidUntil = parseBool(options.get('check-valid-until'));
  const out: AptSource[] = [];
  for (const rawUri of uris) {
    if (!/^https?:\/\//i.test(rawUri)) {
      problems.push({ origin, problem: `URI ${rawUri}: only http:// and https:// repositories are read (not ${rawUri.split(':')[0] ?? rawUri}:)` });
      continue;
    }
    for (const suite of suites) {
      const flat = suite.endsWith('/');
      if (flat && components.length > 0) {
        problems.push({ origin, problem: `suite ${suite} is an exact path, so it takes no components` });
        continue;
      }
      if (!flat && components.length === 0) {
        problems.push({ origin, problem: `suite ${suite} has no components` });
        continue;
      }
      out.push({
        uri: normalizeUri(rawUri),
        suite,
        components,
        flat,
        architectures: archs,
        signedBy: signed === undefined || signed.trim() === '' ? undefined : parseSignedBy(signed),
        checkValidUntil,
        origin,
      });
    }
  }
  return out;
}

/** Parse the one-line form (`deb [arch=amd64 signed-by=/k.gpg] http://host/debian bookworm main`). */
export function parseOneLineSources(text: string, file: string): { sources: AptSource[]; problems: AptSourceProblem[] } {
  const sources: AptSource[] = [];
  const problems: AptSourceProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const origin = `${file}:${i + 1}`;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (m === null) {
      problems.push({ origin, problem: 'not a deb/deb-src line' });
      return;
    }
    const options = new Map<string, string>();
    for (const opt of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
      const eq = opt.indexOf('=');
      if (eq <= 0) continue;
      const key = opt.slice(0, eq).replace(/[+-]$/, '').toLowerCase();
      const k = key === 'arch' ? 'architectures' : key;
      options.set(k, opt.slice(eq + 1).replace(/,/g, ' '));
    }
    const components = (m[5] ?? '').trim().split(/\s+/).filter(Boolean);
    sources.push(...expand([m[1] as string], [m[3] as string], [m[4] as string], components, options, origin, problems));
  });
  return { sources, problems };
}

/**
 * Parse deb822 stanzas. Continuation lines start with white space; a line ` .` is an empty line inside a field
 * (how an inline key keeps its blank line). `Enabled: no` skips a stanza.
 */
export function parseDeb822Sources(text: string, file: string): { sources: AptSource[]; problems: AptSourceProblem[] } {
  const sources: AptSource[] = [];
  const problems: AptSourceProblem[] = [];
  let fields = new Map<string, string>();
  let current: string | undefined;
  let startLine = 1;
  const flush = (): void => {
    if (fields.size === 0) return;
    const origin = `${file}:${startLine}`;
    const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (parseBool(fields.get('enabled')) !== false) {
      const types = list('types');
      const uris = list('uris');
      const suites = list('suites');
      if (types.length === 0 || uris.length === 0 || suites.length === 0) problems.push({ origin, problem: 'stanza lacks Types, URIs or Suites' });
      else sources.push(...expand(types, uris, suites, list('components'), fields, origin, problems));
    }
    fields = new Map();
    current = undefined;
  };
  text.split('\n').forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    if (raw.trim() === '') {
      flush();
      startLine = i + 2;
      return;
    }
    if (/^\s/.test(raw)) {
      if (current === undefined) return;
      const cont = raw.trim() === '.' ? '' : raw.trim();
      fields.set(current, `${fields.get(current) ?? ''}\n${cont}`);
      return;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) return;
    if (fields.size === 0) startLine = i + 1;
    current = raw.slice(0, colon).trim().toLowerCase();
    fields.set(current, raw.slice(colon + 1).trim());
  });
  flush();
  return { sources, problems };
}

function readDirSorted(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * Read every repository the target's apt knows: `etc/apt/sources.list`, then `etc/apt/sources.list.d/*.list` and
 * `*.sources` in name order, under `root`. Unreadable files are problems, not errors.
 */
export function readAptSources(root: string): AptSources {
  const sources: AptSource[] = [];
  const problems: AptSourceProblem[] = [];
  const files: string[] = [];
  const read = (systemPath: string, parse: typeof parseOneLineSources): void => {
    let text: string;
    try {
      text = fs.readFileSync(underRoot(root, systemPath), 'utf8');
    } catch {
      return;
    }
    files.push(systemPath);
    const r = parse(text, systemPath);
    sources.push(...r.sources);
    problems.push(...r.problems);
  };
  read('/etc/apt/sources.list', parseOneLineSources);
  const dir = '/etc/apt/sources.list.d';
  for (const name of readDirSorted(underRoot(root, dir))) {
    if (name.endsWith('.list')) read(path.posix.join(dir, name), parseOneLineSources);
    else if (name.endsWith('.sources')) read(path.posix.join(dir, name), parseDeb822Sources);
  }
  return { sources, problems, files };
}
