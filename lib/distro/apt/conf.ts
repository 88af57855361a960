/**
 * apt's configuration (`apt.conf(5)`): `etc/apt/apt.conf` and `etc/apt/apt.conf.d/*` under a root, flattened into
 * `Scope::Sub::Key → value`. Only what changes trust or transport is used (see {@link AptOptions}).
 *
 * Syntax handled: `A::B "v";`, nested scopes `A { B "v"; C::D "w"; };`, `//`, `#` and C comments, unquoted values,
 * `#clear` / `#include` directives (skipped), and lists (`A { "x"; "y"; };`: ignored, no option here is a list).
 */
import fs from 'node:fs';
import path from 'node:path';
import { underRoot } from '../../system/root.js';

/** The apt options bpf-compile honours. */
export interface AptOptions {
  /** `Acquire::Check-Valid-Until` (default true): false accepts a Release past its `Valid-Until`. */
  readonly checkValidUntil: boolean;
  /** `Acquire::http::Proxy` (undefined: none, or `DIRECT`). */
  readonly httpProxy: string | undefined;
  /** `Acquire::https::Proxy`. */
  readonly httpsProxy: string | undefined;
  /** Files read. */
  readonly files: readonly string[];
}

type Token = { readonly t: 'word' | 'string'; readonly v: string } | { readonly t: '{' | '}' | ';' };

function stripComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i] as string;
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end < 0 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (text.startsWith('//', i) || (c === '#' && !/^#(clear|include)\b/.test(text.slice(i)))) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:"([^"]*)"|([{};])|([^\s{};"]+))/gy;
  const src = stripComments(text);
  let m: RegExpExecArray | null;
  while (re.lastIndex < src.length && (m = re.exec(src)) !== null) {
    if (m[1] !== undefined) tokens.push({ t: 'string', v: m[1] });
    else if (m[2] !== undefined) tokens.push({ t: m[2] as '{' | '}' | ';' });
    else if (m[3] !== undefined) tokens.push({ t: 'word', v: m[3] });
    else break;
  }
  return tokens;
}

/** Flatten apt.conf text into lowercase `a::b::c` keys (later assignments win). */
export function parseAptConf(text: string, into: Map<string, string> = new Map()): Map<string, string> {
  const tokens = tokenize(text);
  const scopes: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i] as Token;
    if (tok.t === '}') {
      scopes.pop();
      i++;
      continue;
    }
    if (tok.t === ';') {
      i++;
      continue;
    }
    if (tok.t === 'word' && (tok.v === '#clear' || tok.v === '#include')) {
      while (i < tokens.length && (tokens[i] as Token).t !== ';') i++;
      continue;
    }
    const next = tokens[i + 1];
    const name = 'v' in tok ? tok.v : '';
    if (next?.t === '{') {
      scopes.push(name);
      i += 2;
      continue;
    }
    if (tok.t === 'word' && next !== undefined && 'v' in next) {
      into.set([...scopes, name].join('::').toLowerCase(), next.v);
      i += 2;
      continue;
    }
    i++; // a list item or a stray word
  }
  return into;
}

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  const s = v.trim().toLowerCase();
  if (['false', 'no', 'off', '0', 'disable'].includes(s)) return false;
  if (['true', 'yes', 'on', '1', 'enable'].includes(s)) return true;
  return dflt;
}

function proxy(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  return s === '' || /^(direct|false)$/i.test(s) ? undefined : s;
}

/** Read `etc/apt/apt.conf` and `etc/apt/apt.conf.d/*` (name order, as apt does) under `root`. */
export function readAptOptions(root: string): AptOptions {
  const values = new Map<string, string>();
  const files: string[] = [];
  const read = (p: string): void => {
    try {
      parseAptConf(fs.readFileSync(underRoot(root, p), 'utf8'), values);
      files.push(p);
    } catch {
      // absent or unreadable: apt would skip it too
    }
  };
  const dir = '/etc/apt/apt.conf.d';
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(underRoot(root, dir))
      .filter((n) => /^[A-Za-z0-9_.-]+$/.test(n) && !/\.(disabled|bak|dpkg-[a-z]+)$|~$/.test(n))
      .sort();
  } catch {
    // no apt.conf.d
  }
  for (const n of names) read(path.posix.join(dir, n));
  read('/etc/apt/apt.conf');
  return {
    checkValidUntil: bool(values.get('acquire::check-valid-until'), true),
    httpProxy: proxy(values.get('acquire::http::proxy')),
    httpsProxy: proxy(values.get('acquire::https::proxy')),
    files,
  };
}
