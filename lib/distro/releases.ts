/**
 * What the kernels of each distribution family call themselves (`uname -r`), as data. The `distro` source asks the
 * system's own repositories only for a release of that shape: a custom kernel (`6.18.44-fc-v669`) is never in them,
 * and asking would cost a round of index downloads on every resolve. Repositories named explicitly (`--apt-repo`)
 * are always searched.
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
