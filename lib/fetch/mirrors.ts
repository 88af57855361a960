/**
 * Mirror configuration and URL building (pure; unit-tested).
 *
 * A mirror is either
 * - a base URL: `<base>/index.json` (see `mirror/index-format.ts`) says which file serves a kind/release/arch and its
 *   sha256; without an index, `<base>/kheaders-<release>-<arch>.tar.xz` with the sidecar `<url>.sha256`;
 * - a URL template with `{release}`, `{arch}` (kernel SRCARCH), `{machine}` (`uname -m`), `{distro}` and
 *   `{distro_version}` (from `<root>/etc/os-release`); its checksum comes from the sidecar `<url>.sha256`. A template
 *   whose path ends in `.btf` or `.btf.tar.xz` serves BTF, any other template serves kheaders archives.
 *
 * Without an index, a base mirror's BTF is looked up in the btfhub-archive layout
 * `<base>/<distro>/<distro_version>/<machine>/<release>.btf.tar.xz`.
 */
import type { ArchInfo } from '../arch.js';
import { defaultKheadersName, type MirrorIndex, type MirrorIndexEntry } from '../mirror/index-format.js';
import type { OsRelease } from '../system/os-release.js';

/** Environment variable listing mirrors (space-separated, tried in order). */
export const MIRROR_ENV = 'BPF_COMPILE_MIRROR';
/** Environment variable forbidding network access (`1`, `true`, `yes`). */
export const OFFLINE_ENV = 'BPF_COMPILE_OFFLINE';

/** The mirrors to try: the option when it names any, else `BPF_COMPILE_MIRROR` split on whitespace. */
export function mirrorList(option: readonly string[] | undefined, env: Readonly<Record<string, string | undefined>>): string[] {
  const fromOption = (option ?? []).flatMap((m) => m.split(/\s+/)).filter(Boolean);
  if (fromOption.length > 0) return fromOption;
  return (env[MIRROR_ENV] ?? '').split(/\s+/).filter(Boolean);
}

/** Whether `BPF_COMPILE_OFFLINE` asks for no network. */
export function offlineFromEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  return /^(1|true|yes|on)$/i.test(env[OFFLINE_ENV]?.trim() ?? '');
}

/** True when the mirror string is a template (has `{…}` placeholders). */
export function isTemplate(mirror: string): boolean {
  return /\{[a-z_]+\}/.test(mirror);
}

/** Placeholders a template may use. */
export const TEMPLATE_VARS = ['release', 'arch', 'machine', 'distro', 'distro_version'] as const;

/** What templates are expanded with. */
export interface TemplateVars {
  readonly release: string;
  readonly arch: ArchInfo;
  readonly os: OsRelease | undefined;
}

/** Expand a template; `{ skip }` when it needs a value that is unknown (no os-release) or names an unknown placeholder. */
export function expandTemplate(template: string, vars: TemplateVars): { url: string } | { skip: string } {
  const values: Record<string, string | undefined> = {
    release: vars.release,
    arch: vars.arch.srcarch,
    machine: vars.arch.machine,
    distro: vars.os?.id,
    distro_version: vars.os?.versionId,
  };
  let missing: string | undefined;
  const url = template.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
    if (!(TEMPLATE_VARS as readonly string[]).includes(name)) {
      missing ??= `unknown placeholder {${name}} (known: ${TEMPLATE_VARS.map((v) => `{${v}}`).join(' ')})`;
      return '';
    }
    const v = values[name];
    if (v === undefined || v === '') {
      missing ??= `{${name}} is unknown: no ID/VERSION_ID in /etc/os-release of the target root`;
      return '';
    }
    return encodeURIComponent(v);
  });
  return missing === undefined ? { url } : { skip: `${template}: ${missing}` };
}

/** What a template serves, by the suffix of its path: `.btf` / `.btf.tar.xz` → BTF, else a kheaders archive. */
export function templateKind(template: string): MirrorIndexEntry['kind'] {
  const pathPart = template.replace(/[?#].*$/, '');
  return /\.btf(\.tar\.xz)?$/.test(pathPart) ? 'btf' : 'kheaders';
}

/** The btfhub-archive layout a base mirror without an index is searched in for BTF. */
export const BTFHUB_LAYOUT = '{distro}/{distro_version}/{machine}/{release}.btf.tar.xz';

/** `<base>/<distro>/<distro_version>/<machine>/<release>.btf.tar.xz`, or a skip when os-release lacks ID/VERSION_ID. */
export function btfhubUrl(base: string, vars: TemplateVars): { url: string } | { skip: string } {
  return expandTemplate(`${normalizeBase(base)}/${BTFHUB_LAYOUT}`, vars);
}

/** A base URL without trailing slashes. */
export function normalizeBase(base: string): string {
  return base.replace(/\/+$/, '');
}

/** `<base>/index.json`. */
export function indexUrl(base: string): string {
  return `${normalizeBase(base)}/index.json`;
}

/** A file of a mirror index, relative to the base (the index guarantees a safe relative path). */
export function fileUrl(base: string, file: string): string {
  return `${normalizeBase(base)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** The archive tried when a base mirror has no index. */
export function fallbackUrl(base: string, release: string, arch: ArchInfo): string {
  return fileUrl(base, defaultKheadersName(release, arch.srcarch));
}

/** The sidecar checksum URL of a file. */
export function sidecarUrl(url: string): string {
  return `${url}.sha256`;
}

/** The entry serving kind/release/arch (SRCARCH), or undefined. */
export function selectIndexEntry(index: MirrorIndex, kind: MirrorIndexEntry['kind'], release: string, arch: ArchInfo): MirrorIndexEntry | undefined {
  return index.entries.find((e) => e.kind === kind && e.release === release && e.arch === arch.srcarch);
}

/** Parse a `sha256sum`-style sidecar: the first word, when it is 64 hex digits (lowercased); else undefined. */
export function parseSha256Sidecar(text: string): string | undefined {
  const word = text.trim().split(/\s+/)[0] ?? '';
  return /^[0-9a-fA-F]{64}$/.test(word) ? word.toLowerCase() : undefined;
}

/** True for a valid lowercase-or-uppercase hex sha256. */
export function isSha256(s: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(s);
}
