/**
 * What the kernels of each distribution family call themselves (`uname -r`), as data. The `distro` source asks the
 * system's own repositories only for a release of that shape: a custom kernel (`6.18.44-fc-v669`) is never in them,
 * and asking would cost a round of index downloads on every resolve. Repositories named explicitly (`--apt-repo`,
 * `--rpm-repo`) are always searched.
 */

/** One family's release pattern. */
export interface ReleaseShape {
  readonly family: string;
  /** How its releases look. */
  readonly pattern: RegExp;
  /** Examples, for messages and tests. */
  readonly examples: readonly string[];
}

/** Release shapes of the families served by apt repositories. */
export const APT_RELEASE_SHAPES: readonly ReleaseShape[] = [
  { family: 'Debian', pattern: /^\d+\.\d+\.\d+(?:-\d+|\+deb\d+)-[a-z][a-z0-9-]*$/, examples: ['6.1.0-57-amd64', '6.12.117+deb12-cloud-amd64', '6.1.0-57-rt-arm64'] },
  { family: 'Ubuntu', pattern: /^\d+\.\d+\.\d+-\d+-[a-z][a-z0-9-]*$/, examples: ['5.15.0-91-generic', '6.8.0-1015-aws', '6.5.0-1009-raspi'] },
];

/** The family whose releases look like `release`, or undefined. */
export function aptFamilyOf(release: string): ReleaseShape | undefined {
  return APT_RELEASE_SHAPES.find((s) => s.pattern.test(release));
}

/** Release shapes of the families served by rpm-md repositories (see `rpm/names.ts` for the packages they map to). */
export const RPM_RELEASE_SHAPES: readonly ReleaseShape[] = [
  {
    family: 'Fedora/RHEL/Amazon Linux',
    pattern: /^\d+\.\d+(?:\.\d+)*-[0-9][A-Za-z0-9._]*\.(?:x86_64|aarch64|ppc64le|ppc64|s390x|i686|armv7hl|riscv64)(?:\+[a-z0-9-]+|\.debug)?$/,
    examples: ['6.5.6-300.fc39.x86_64', '5.14.0-362.8.1.el9_3.x86_64+rt', '6.1.56-82.125.amzn2023.aarch64'],
  },
  { family: 'openSUSE/SLES', pattern: /^\d+\.\d+(?:\.\d+)?-\d+(?:\.\d+)*-[a-z][a-z0-9_]*$/, examples: ['5.14.21-150500.55.39-default', '6.4.0-150600.23.7-rt'] },
];

/** The rpm family whose releases look like `release`, or undefined. */
export function rpmFamilyOf(release: string): ReleaseShape | undefined {
  return RPM_RELEASE_SHAPES.find((s) => s.pattern.test(release));
}
