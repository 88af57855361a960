/**
 * The rpm-md repositories a system is configured with, read under its root as dnf/yum and zypper read them:
 * `etc/yum.repos.d/*.repo` (with `[main]` defaults from `etc/dnf/dnf.conf` or `etc/yum.conf`) and
 * `etc/zypp/repos.d/*.repo`. INI sections; `baseurl` may list several URLs (spaces, commas, continuation lines);
 * variables `$releasever`, `$basearch`, `$arch` and any defined in `etc/dnf/vars/`, `etc/yum/vars/` or
 * `etc/zypp/vars.d/` are substituted (`$name` and `${name}`). Pure reading: nothing is fetched here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { underRoot } from '../../system/root.js';
import { parseOsRelease, type OsRelease } from '../../system/os-release.js';

/** One configured rpm-md repository. */
export interface RpmRepo {
  /** The section name (`baseos`, `updates`, a zypper alias). */
  readonly id: string;
  /** The file it was read from (system path), or `--rpm-repo #n`. */
  readonly origin: string;
  readonly tool: 'dnf' | 'zypper';
  readonly enabled: boolean;
  /** Base URLs, variables substituted (each ends without `/`). */
  readonly baseurls: readonly string[];
  readonly mirrorlist: string | undefined;
  readonly metalink: string | undefined;
  /** Verify each package's own OpenPGP signature (dnf and zypper default: yes). */
  readonly gpgcheck: boolean;
  /** Verify `repomd.xml`'s detached signature (`repomd.xml.asc`). */
  readonly repoGpgcheck: boolean;
  /** Key locations (`file:///etc/pki/rpm-gpg/…`, `https://…`), variables substituted. */
  readonly gpgkeys: readonly string[];
  /** TLS client certificate, key and CA bundle (system paths; RHEL entitlement certificates). */
  readonly sslClientCert: string | undefined;
  readonly sslClientKey: string | undefined;
  readonly sslCaCert: string | undefined;
  /** `sslverify=0` turns TLS verification off (then TLS proves nothing). */
  readonly sslVerify: boolean;
  /** The repository's proxy (`proxy=`, credentials from `proxy_username`/`proxy_password`); `_none_` means none. */
  readonly proxy: string | undefined;
}

/** A file that could not be used, and why. */
export interface RepoProblem {
  readonly origin: string;
  readonly problem: string;
}

/** The substitution variables of a system. */
export type RepoVars = ReadonlyMap<string, string>;

type Section = Map<string, string>;

/** Parse INI text: sections of `key=value` (keys lowercased), continuation lines appended with a space. */
export function parseIni(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^\s*([#;]|$)/.test(line)) {
      lastKey = undefined;
      continue;
    }
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (sec !== null) {
      current = new Map();
      sections.set((sec[1] as string).trim(), current);
      lastKey = undefined;
      continue;
    }
    if (/^\s/.test(line) && current !== undefined && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey) ?? ''} ${line.trim()}`.trim());
      continue;
    }
    const kv = /^\s*([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (kv === null || current === undefined) continue;
    lastKey = (kv[1] as string).toLowerCase();
    current.set(lastKey, (kv[2] as string).trim());
  }
  return sections;
}

/** An INI boolean (`1 yes true on` / `0 no false off`), or the default. */
export function iniBool(value: string | undefined, dflt: boolean): boolean {
  if (value === undefined || value === '') return dflt;
  const v = value.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(v)) return true;
  if (['0', 'no', 'false', 'off'].includes(v)) return false;
  return dflt;
}

/** Substitute `$var` / `${var}` (longest defined name first, as dnf does); unknown variables stay as written. */
export function substituteVars(text: string, vars: RepoVars): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    if (braced !== undefined) return vars.get(braced) ?? whole;
    const name = bare as string;
    for (let n = name.length; n > 0; n--) {
      const v = vars.get(name.slice(0, n));
      if (v !== undefined) return v + name.slice(n);
    }
    return whole;
  });
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** `$releasever` as dnf derives it when no vars file sets it: RHEL-likes use the major version, others `VERSION_ID`. */
export function releaseverOf(os: OsRelease | undefined): string | undefined {
  const v = os?.versionId;
  if (v === undefined) return undefined;
  const rhelLike = [os?.id ?? '', ...(os?.idLike ?? [])].some((x) => ['rhel', 'centos', 'rocky', 'almalinux', 'ol'].includes(x));
  return rhelLike ? v.split('.')[0] : v;
}

/** The variables of the system under `root`, for a target RPM arch. */
export function readRepoVars(root: string, rpmArch: string): Map<string, string> {
  const os = ['etc/os-release', 'usr/lib/os-release'].map((p) => readText(underRoot(root, `/${p}`))).find((t) => t !== undefined);
  const vars = new Map<string, string>([
    ['basearch', rpmArch === 'i686' ? 'i386' : rpmArch.startsWith('armv7') ? 'armhfp' : rpmArch],
    ['arch', rpmArch],
  ]);
  const rv = releaseverOf(os === undefined ? undefined : parseOsRelease(os));
  if (rv !== undefined) vars.set('releasever', rv);
  for (const dir of ['/etc/yum/vars', '/etc/dnf/vars', '/etc/zypp/vars.d']) {
    const abs = underRoot(root, dir);
    for (const name of listDir(abs)) {
      if (!/^[A-Za-z0-9_]+$/.test(name)) continue;
      const v = readText(path.join(abs, name));
      if (v !== undefined) vars.set(name, v.split('\n')[0]?.trim() ?? '');
    }
  }
  return vars;
}

function urlList(value: string | undefined, vars: RepoVars): string[] {
  if (value === undefined) return [];
  return value
    .split(/[\s,]+/)
    .filter((u) => u !== '')
    .map((u) => substituteVars(u, vars).replace(/\/+$/, ''));
}

function proxyOf(s: Section, main: Section | undefined): string | undefined {
  const raw = s.get('proxy') ?? main?.get('proxy');
  if (raw === undefined || raw === '' || raw === '_none_') return raw === '_none_' ? '_none_' : undefined;
  const user = s.get('proxy_username') ?? main?.get('proxy_username');
  const pass = s.get('proxy_password') ?? main?.get('proxy_password');
  if (user === undefined) return raw;
  try {
    const u = new URL(raw.includes('://') ? raw : `http://${raw}`);
    u.username = encodeURIComponent(user);
    u.password = encodeURIComponent(pass ?? '');
    return u.toString().replace(/\/$/, '');
  } catch {
    return raw;
  }
}

/** The repositories of one `.repo` text (`main`: the `[main]` defaults of dnf.conf/yum.conf). */
export function parseRepoFile(text: string, origin: string, tool: RpmRepo['tool'], vars: RepoVars, main?: Section): RpmRepo[] {
  const repos: RpmRepo[] = [];
  for (const [id, s] of parseIni(text)) {
    if (id === 'main') continue;
    // zypper's `yast2` (old SUSE media) and `plaindir` repositories have no repodata: not rpm-md, not read
    const type = s.get('type')?.toLowerCase();
    if (type !== undefined && !['rpm-md', 'rpm', 'yum'].includes(type)) continue;
    const get = (k: string): string | undefined => {
      const v = s.get(k);
      return v === undefined ? undefined : substituteVars(v, vars);
    };
    const baseurls = urlList(s.get('baseurl'), vars);
    // zypper: `path=` is appended to the base URL
    const sub = s.get('path');
    repos.push({
      id,
      origin,
      tool,
      enabled: iniBool(s.get('enabled'), true),
      baseurls: sub === undefined || sub === '/' ? baseurls : baseurls.map((b) => `${b}/${substituteVars(sub, vars).replace(/^\/+|\/+$/g, '')}`),
      mirrorlist: get('mirrorlist'),
      metalink: get('metalink'),
      gpgcheck: iniBool(s.get('pkg_gpgcheck') ?? s.get('gpgcheck') ?? main?.get('gpgcheck'), true),
      repoGpgcheck: iniBool(s.get('repo_gpgcheck') ?? main?.get('repo_gpgcheck'), false),
      gpgkeys: urlList(s.get('gpgkey'), vars),
      sslClientCert: get('sslclientcert'),
      sslClientKey: get('sslclientkey'),
      sslCaCert: get('sslcacert') ?? (main?.get('sslcacert') === undefined ? undefined : substituteVars(main.get('sslcacert') as string, vars)),
      sslVerify: iniBool(s.get('sslverify') ?? main?.get('sslverify'), true),
      proxy: proxyOf(s, main),
    });
  }
  return repos;
}

/** What {@link readRpmRepos} found. */
export interface RpmRepoConfig {
  readonly repos: readonly RpmRepo[];
  readonly problems: readonly RepoProblem[];
  /** The `.repo` files read (system paths). */
  readonly files: readonly string[];
  readonly vars: RepoVars;
}

/** Every repository configured under `root` (enabled or not: callers report the disabled ones). */
export function readRpmRepos(root: string, rpmArch: string): RpmRepoConfig {
  const vars = readRepoVars(root, rpmArch);
  const mainText = readText(underRoot(root, '/etc/dnf/dnf.conf')) ?? readText(underRoot(root, '/etc/yum.conf'));
  const main = mainText === undefined ? undefined : parseIni(mainText).get('main');
  const repos: RpmRepo[] = [];
  const problems: RepoProblem[] = [];
  const files: string[] = [];
  for (const [dir, tool] of [
    ['/etc/yum.repos.d', 'dnf'],
    ['/etc/zypp/repos.d', 'zypper'],
  ] as const) {
    for (const name of listDir(underRoot(root, dir))) {
      if (!name.endsWith('.repo')) continue;
      const sys = `${dir}/${name}`;
      const text = readText(underRoot(root, sys));
      if (text === undefined) {
        problems.push({ origin: sys, problem: 'not readable' });
        continue;
      }
      files.push(sys);
      const found = parseRepoFile(text, sys, tool, vars, tool === 'dnf' ? main : undefined);
      for (const r of found) {
        if (r.baseurls.length === 0 && r.mirrorlist === undefined && r.metalink === undefined)
          problems.push({ origin: `${sys} [${r.id}]`, problem: 'no baseurl, mirrorlist or metalink' });
        else repos.push(r);
      }
    }
  }
  return { repos, problems, files, vars };
}

/**
 * A repository given on the command line (`--rpm-repo`): `URL` or `key=value,…` with `baseurl=`, `mirrorlist=`,
 * `metalink=`, `gpgkey=` (host paths or URLs), `gpgcheck=`, `repo_gpgcheck=`, `sslclientcert=`, `sslclientkey=`,
 * `sslcacert=`. Keys and certificates named here are read from the host, not the target root.
 */
export function parseRepoOption(text: string, index: number, vars: RepoVars): RpmRepo {
  const t = text.trim();
  const ini = /^[a-z_]+=/.test(t) ? `[cli${index}]\n${t.split(/,(?=[a-z_]+=)/).join('\n')}` : `[cli${index}]\nbaseurl=${t}`;
  const [repo] = parseRepoFile(ini, `--rpm-repo #${index}`, 'dnf', vars);
  return repo as RpmRepo;
}
