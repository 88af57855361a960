/**
 * Make-style dependency files, as clang writes them with `-MD -MF FILE` (optionally `-MP`):
 *
 *     /out/x.o: /src/x.c /usr/include/with\ space.h \
 *       /usr/include/b.h
 *     /usr/include/b.h:
 *
 * Escapes (the inverse of clang's `PrintFilename` for the Make format): `\ ` is a space inside a name (and 2N+1
 * backslashes before a space are N backslashes plus a space; 2N are N backslashes ending the name), `\#` is `#`,
 * `$$` is `$`. A backslash before anything else is literal. A backslash at the end of a line continues it. An unescaped
 * `#` starts a comment. Only the first `:` of a line that ends a word separates targets from prerequisites, so a colon
 * inside a prerequisite is kept. `-MP` adds rules without prerequisites (phony targets); they contribute nothing.
 */

/** One rule of a depfile. */
export interface DepRule {
  readonly targets: readonly string[];
  readonly prerequisites: readonly string[];
}

/** A parsed depfile. */
export interface Depfile {
  /** Every rule, in order (phony `-MP` rules included, with no prerequisites). */
  readonly rules: readonly DepRule[];
  /** Every prerequisite of every rule, in first-seen order, without duplicates. */
  readonly prerequisites: readonly string[];
}

interface Word {
  readonly text: string;
  /** The word ended with an unescaped `:` (the targets/prerequisites separator). */
  readonly colon: boolean;
}

/** Join `\`-continued lines (a backslash right before the newline) into logical lines. */
function logicalLines(text: string): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let cur = '';
  let continuing = false;
  for (const line of lines) {
    // a line ending in an odd number of backslashes continues (an even number is escaped backslashes)
    const trail = /\\+$/.exec(line)?.[0].length ?? 0;
    if (trail % 2 === 1) {
      cur += `${line.slice(0, -1)} `;
      continuing = true;
      continue;
    }
    out.push(cur + line);
    cur = '';
    continuing = false;
  }
  if (continuing && cur.trim() !== '') out.push(cur);
  return out;
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/** Split one logical line into words, decoding escapes. `colonAllowed`: a `:` ending a word is the separator. */
function words(line: string): Word[] {
  const out: Word[] = [];
  let cur = '';
  let has = false;
  let seenColon = false;
  const flush = (colon: boolean): void => {
    if (has || colon) out.push({ text: cur, colon });
    cur = '';
    has = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\') {
      let n = 0;
      while (line[i + n] === '\\') n++;
      const next = line[i + n];
      if (isSpace(next)) {
        cur += '\\'.repeat(Math.floor(n / 2));
        has = has || n > 1;
        if (n % 2 === 1) {
          cur += next;
          has = true;
          i += n; // the space is consumed
        } else {
          i += n - 1; // the space separates
        }
        continue;
      }
      if (next === '#' && n % 2 === 1) {
        cur += `${'\\'.repeat(Math.floor(n / 2))}#`;
        has = true;
        i += n;
        continue;
      }
      cur += '\\'.repeat(n);
      has = true;
      i += n - 1;
      continue;
    }
    if (c === '$' && line[i + 1] === '$') {
      cur += '$';
      has = true;
      i++;
      continue;
    }
    if (c === '#') break; // comment
    if (isSpace(c)) {
      flush(false);
      continue;
    }
    if (c === ':' && !seenColon && (i + 1 === line.length || isSpace(line[i + 1]))) {
      seenColon = true;
      flush(true);
      continue;
    }
    cur += c;
    has = true;
  }
  flush(false);
  return out;
}

/** Parse a depfile. Pure: no file access. Lines without a separating `:` are ignored. */
export function parseDepfile(text: string): Depfile {
  const rules: DepRule[] = [];
  const all: string[] = [];
  const seen = new Set<string>();
  for (const line of logicalLines(text)) {
    const ws = words(line);
    const sep = ws.findIndex((w) => w.colon);
    if (sep < 0) continue;
    const targets = ws
      .slice(0, sep + 1)
      .map((w) => w.text)
      .filter((t) => t !== '');
    const prerequisites = ws
      .slice(sep + 1)
      .map((w) => w.text)
      .filter((p) => p !== '');
    rules.push({ targets, prerequisites });
    for (const p of prerequisites) {
      if (!seen.has(p)) {
        seen.add(p);
        all.push(p);
      }
    }
  }
  return { rules, prerequisites: all };
}

/** The prerequisites of a depfile (every file the compile read), in order, without duplicates. */
export function depfilePrerequisites(text: string): string[] {
  return [...parseDepfile(text).prerequisites];
}
