// lib/btf/strings.ts NameCounter: counts names by their bytes (the dumper's `name___N` renaming rests on it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NameCounter, StringTable } from '../../lib/btf/strings.js';

/**
 * A string table of `names` (NUL-terminated, after the empty string at offset 0) and each name's offset. Not the
 * BtfBuilder's: that one deduplicates its strings, and these tests need the same text at two offsets.
 */
function table(names: readonly string[], base?: StringTable): { strings: StringTable; offs: number[] } {
  const offs: number[] = [];
  const parts: Buffer[] = base === undefined ? [Buffer.from([0])] : [];
  let at = base === undefined ? 1 : base.length;
  for (const n of names) {
    offs.push(at);
    const b = Buffer.from(`${n}\0`, 'latin1');
    parts.push(b);
    at += b.length;
  }
  return { strings: new StringTable(Buffer.concat(parts), base), offs };
}

test('NameCounter: the same text at two offsets is one name; other texts, even prefixes of it, are not', () => {
  const { strings, offs } = table(['task_struct', 'task_struct', 'task', 'task_struct_', 'file']);
  const c = new NameCounter(strings);
  assert.equal(c.bump(offs[0]!), 1);
  assert.equal(c.bump(offs[1]!), 2, 'a second copy of the text counts as the same name');
  assert.equal(c.bump(offs[2]!), 1);
  assert.equal(c.bump(offs[3]!), 1);
  assert.equal(c.bump(offs[0]!), 3);
  assert.equal(c.bump(offs[4]!), 1);
});

test('NameCounter: counts survive the table growing, whatever size it was made for', () => {
  // 40,000 names fill a table made for none (16,384 slots) several times over, and one made for 40,000 not at all
  const names = Array.from({ length: 40_000 }, (_, i) => `n${i.toString(36)}`);
  const { strings, offs } = table([...names, ...names]);
  for (const expected of [0, 40_000]) {
    const c = new NameCounter(strings, expected);
    for (const off of offs.slice(0, names.length)) assert.equal(c.bump(off), 1);
    // the second copies are other offsets with the same bytes: each is that name's second use
    const second = offs.slice(names.length).map((off) => c.bump(off));
    assert.deepEqual(new Set(second), new Set([2]));
    assert.equal(c.bump(offs[12_345]!), 3);
  }
});

test('NameCounter: names of a split table are compared with the base by bytes and kept across splits', () => {
  const base = table(['sk_buff', 'net_device']);
  const c = new NameCounter(base.strings);
  assert.equal(c.bump(base.offs[0]!), 1);
  const mod1 = table(['net_device', 'mod_priv'], base.strings);
  c.use(mod1.strings);
  assert.equal(c.bump(mod1.offs[0]!), 1, "a module's name that the base has not counted yet");
  assert.equal(c.bump(mod1.offs[1]!), 1);
  // another module reuses the same split offsets for other text: its names are its own bytes, not the offsets
  const mod2 = table(['mod_priv', 'sk_buff'], base.strings);
  c.use(mod2.strings);
  assert.equal(c.bump(mod2.offs[0]!), 2, "mod1's mod_priv was copied out of mod1's table and still counts");
  assert.equal(c.bump(mod2.offs[1]!), 2, "the base's sk_buff");
  c.use(base.strings);
  assert.equal(c.bump(base.offs[1]!), 2, "net_device, first counted through mod1's table");
});
