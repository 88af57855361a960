/**
 * rpm's version comparison (`rpmvercmp`): versions split into runs of digits and of letters (everything else
 * separates); digit runs compare numerically and beat letter runs; `~` sorts before anything (pre-releases), `^` after
 * the end (post-release snapshots); the one with runs left over is newer.
 */

/** Compare two rpm version or release strings: negative, zero, positive. */
export function rpmVersionCompare(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !/[A-Za-z0-9~^]/.test(a[i] as string)) i++;
    while (j < b.length && !/[A-Za-z0-9~^]/.test(b[j] as string)) j++;
    const ca = a[i];
    const cb = b[j];
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === '^' || cb === '^') {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;
    const digits = /[0-9]/.test(ca);
    const re = digits ? /^[0-9]+/ : /^[A-Za-z]+/;
    const sa = re.exec(a.slice(i))?.[0] ?? '';
    const sb = re.exec(b.slice(j))?.[0] ?? '';
    if (sb === '') return digits ? 1 : -1; // a numeric run beats an alphabetic one
    i += sa.length;
    j += sb.length;
    if (digits) {
      const na = sa.replace(/^0+/, '');
      const nb = sb.replace(/^0+/, '');
      if (na.length !== nb.length) return na.length - nb.length;
      if (na !== nb) return na < nb ? -1 : 1;
    } else if (sa !== sb) return sa < sb ? -1 : 1;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}
