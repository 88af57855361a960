/**
 * The small documents of an rpm-md repository: `repodata/repomd.xml` (where the indexes are and their checksums), a
 * metalink (dnf's list of mirrors of `repomd.xml`, with the hashes `repomd.xml` must have), and a mirrorlist (one
 * URL a line). XML is read with `saxes` (a conforming, non-validating parser: no DTDs, no entity expansion beyond the
 * five predefined ones, so no entity bombs); element names are matched by local name, namespaces ignored.
 */
import { SaxesParser } from 'saxes';

/** An element of a small XML document. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

function localName(n: string): string {
  const i = n.indexOf(':');
  return i < 0 ? n : n.slice(i + 1);
}

/** Parse a small XML text into elements. @throws Error on malformed XML (callers wrap it). */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: false });
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  parser.on('opentag', (tag) => {
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) attrs[localName(k)] = String(v);
    const el: XmlElement = { name: localName(tag.name), attrs, children: [], text: '' };
    (stack[stack.length - 1] as XmlElement).children.push(el);
    stack.push(el);
  });
  parser.on('text', (t) => {
    (stack[stack.length - 1] as XmlElement).text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  let failure: Error | undefined;
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.write(text).close();
  if (failure !== undefined) throw failure;
  const top = root.children[0];
  if (top === undefined) throw new Error('no root element');
  return top;
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

function descendants(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

/** One index file listed by `repomd.xml`. */
export interface RepomdData {
  readonly type: string;
  /** Path relative to the repository base (`repodata/<hash>-primary.xml.zst`). */
  readonly href: string;
  readonly checksumType: string;
  readonly checksum: string;
  readonly size: number | undefined;
  readonly openSize: number | undefined;
}

/** What `repomd.xml` says. */
export interface Repomd {
  readonly revision: string | undefined;
  readonly data: readonly RepomdData[];
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/** Parse `repomd.xml`. @throws Error when it is not one. */
export function parseRepomd(text: string): Repomd {
  const top = parseXml(text);
  if (top.name !== 'repomd') throw new Error(`the root element is <${top.name}>, not <repomd>`);
  const data: RepomdData[] = [];
  for (const d of top.children.filter((c) => c.name === 'data')) {
    const cs = child(d, 'checksum');
    const loc = child(d, 'location');
    if (cs === undefined || loc?.attrs['href'] === undefined) continue;
    data.push({
      type: d.attrs['type'] ?? '',
      href: loc.attrs['href'],
      checksumType: (cs.attrs['type'] ?? 'sha256').toLowerCase().replace(/^sha$/, 'sha1'),
      checksum: cs.text.trim().toLowerCase(),
      size: num(child(d, 'size')?.text),
      openSize: num(child(d, 'open-size')?.text),
    });
  }
  return { revision: child(top, 'revision')?.text.trim(), data };
}

/** What a metalink says of `repomd.xml`. */
export interface Metalink {
  /** Every sha256 `repomd.xml` may have (the current one and the alternates). */
  readonly sha256: readonly string[];
  /** Every sha512 it may have. */
  readonly sha512: readonly string[];
  /** Repository base URLs (the `…/repodata/repomd.xml` URLs, that suffix removed), by preference. */
  readonly bases: readonly string[];
}

/** Parse a metalink (3.0, as Fedora's MirrorManager serves). @throws Error when it has no `repomd.xml` file. */
export function parseMetalink(text: string): Metalink {
  const top = parseXml(text);
  const file = descendants(top, 'file').find((f) => f.attrs['name'] === 'repomd.xml');
  if (file === undefined) throw new Error('no <file name="repomd.xml">');
  const hashes = (type: string): string[] =>
    descendants(file, 'hash')
      .filter((h) => (h.attrs['type'] ?? '').toLowerCase() === type)
      .map((h) => h.text.trim().toLowerCase());
  const urls = descendants(file, 'url')
    .map((u) => ({ url: u.text.trim(), pref: Number(u.attrs['preference'] ?? '0') || 0, protocol: (u.attrs['protocol'] ?? '').toLowerCase() }))
    .filter((u) => /^https?:\/\//.test(u.url) && u.url.endsWith('/repodata/repomd.xml'))
    .sort((a, b) => b.pref - a.pref);
  return { sha256: hashes('sha256'), sha512: hashes('sha512'), bases: urls.map((u) => u.url.slice(0, -'/repodata/repomd.xml'.length)) };
}

/** Parse a mirrorlist: one URL a line, `#` comments; `…/repodata/repomd.xml` suffixes dropped. */
export function parseMirrorlist(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^https?:\/\//.test(l))
    .map((l) => l.replace(/\/repodata\/repomd\.xml$/, '').replace(/\/+$/, ''));
}
