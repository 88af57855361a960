/**
 * The comment stripping of the kernel's `gen_kheaders.sh` (`s/\/\*((?!SPDX).)*?\*\///smg`), done by a small C lexer
 * instead of a regex: a `/*` inside a string literal, a character literal or a `//` comment does not start a comment.
 */

const SLASH = 0x2f;
const STAR = 0x2a;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** Characters next to which a removed comment needs no space: whitespace and punctuators that never paste into a longer token. */
const SEPARATORS = new Set([...' \t\n\r\v\f(),;[]{}'].map((ch) => ch.charCodeAt(0)));

/** Whether removing a comment between `before` and `after` could paste two tokens together. */
function needsSpace(before: number, after: number): boolean {
  return !SEPARATORS.has(before) && !SEPARATORS.has(after);
}

/** Index just past a string/char literal opened by `quote` at `start`; it also ends (unterminated) at a newline. */
function skipLiteral(text: string, start: number, quote: number): number {
  let i = start + 1;
  const n = text.length;
  while (i < n) {
    const d = text.charCodeAt(i);
    if (d === BACKSLASH) i += 2;
    else if (d === quote) return i + 1;
    else if (d === NEWLINE) return i;
    else i++;
  }
  return n;
}

/** Index of the newline ending a `//` comment starting at `start` (backslash-newline continues it), or the end. */
function skipLineComment(text: string, start: number): number {
  let i = start + 2;
  const n = text.length;
  while (i < n) {
    const d = text.charCodeAt(i);
    if (d === BACKSLASH && text.charCodeAt(i + 1) === NEWLINE) i += 2;
    else if (d === NEWLINE) return i;
    else i++;
  }
  return n;
}

/**
 * Remove every block comment that does not mention `SPDX`, as gen_kheaders.sh does.
 *
 * - `//` comments are kept verbatim (the kernel script leaves them too), and a `/*` inside one is not a comment start;
 * - string and character literals are copied verbatim (`"/*"` survives); an unterminated literal (an apostrophe in
 *   `#error` text) ends at the end of its line;
 * - an unterminated block comment is kept (the kernel regex does not match it either);
 * - a removed comment leaves nothing (as the kernel's regex), except a single space when the characters on both
 *   sides could paste into one token (`a/＊x＊/b` → `a b`, `+/＊x＊/+` → `+ +`; C replaces a comment by a space).
 *   Next to whitespace, brackets, `,` and `;` nothing is inserted, which is byte-identical to the kernel's output
 *   on the real kernel headers.
 *
 * Works on any string; read files as `latin1` so non-UTF-8 bytes round-trip.
 */
export function stripComments(text: string): string {
  const n = text.length;
  let out = '';
  let copyFrom = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return out + text.slice(copyFrom);
      const stop = end + 2;
      if (!text.slice(i + 2, end).includes('SPDX')) {
        out += text.slice(copyFrom, i);
        const before = out.length > 0 ? out.charCodeAt(out.length - 1) : NEWLINE;
        const after = stop < n ? text.charCodeAt(stop) : NEWLINE;
        if (needsSpace(before, after)) out += ' ';
        copyFrom = stop;
      }
      i = stop;
    } else if (c === SLASH && text.charCodeAt(i + 1) === SLASH) {
      i = skipLineComment(text, i);
    } else if (c === DQUOTE || c === SQUOTE) {
      i = skipLiteral(text, i, c);
    } else {
      i++;
    }
  }
  return out + text.slice(copyFrom);
}
