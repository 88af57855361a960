/**
 * The distro command that installs kernel headers for a release, by `/etc/os-release` (for hints).
 */
import type { OsRelease } from '../system/os-release.js';

/** How each distro family ships the headers of one kernel release. */
const HEADER_PACKAGES: ReadonlyArray<{ readonly ids: readonly string[]; readonly install: (release: string) => string }> = [
  { ids: ['debian', 'ubuntu', 'raspbian', 'linuxmint', 'pop'], install: (r) => `apt-get install linux-headers-${r}` },
  { ids: ['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'amzn', 'ol'], install: (r) => `dnf install kernel-devel-${r}` },
  { ids: ['opensuse', 'opensuse-leap', 'opensuse-tumbleweed', 'sles', 'suse'], install: () => 'zypper install kernel-devel' },
  { ids: ['arch', 'manjaro'], install: () => 'pacman -S linux-headers' },
  { ids: ['alpine'], install: () => 'apk add linux-lts-dev' },
];

/** The command that installs the headers of `release` on this distro, when bpf-compile knows it. */
export function headersInstallCommand(os: OsRelease | undefined, release: string): string | undefined {
  if (os === undefined) return undefined;
  const ids = [os.id, ...os.idLike].filter((x): x is string => x !== undefined);
  for (const id of ids) {
    const row = HEADER_PACKAGES.find((p) => p.ids.includes(id));
    if (row !== undefined) return row.install(release);
  }
  return undefined;
}
