/**
 * Seeded, structure-aware fuzzing of the tar parser and the extraction policy: a real kheaders archive (the first
 * entries of the one built like gen_kheaders.sh from this machine's Debian headers) is mutated where it matters —
 * type flags, names, link targets, sizes, modes, checksums (recomputed or not), truncation, stray bytes — and
 * extracted. Every run must end in a typed error or a tree entirely inside its destination; nothing may appear
 * beside it. Reproducible: the seed of a failing case is in the assertion message.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { extractInto } from '../../lib/archive/extract.js';
import { isBpfCompileError } from '../../lib/errors.js';
import { buildKheadersFixture, kheadersFixtureSkipReason } from '../helpers/kheaders-fixture.js';
import { prng } from '../helpers/prng.js';

const CASES = Number(process.env['BPFC_FUZZ_CASES'] ?? 400);
const ENTRIES = 250;
const skip = kheadersFixtureSkipReason();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-tarfuzz-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** The first `n` entries of a tar (plus its end blocks) and the offsets of their headers. */
function prefix(tar: Buffer, n: number): { tar: Buffer; headers: number[] } {
  const headers: number[] = [];
  let off = 0;
  while (headers.length < n && off + 512 <= tar.length && tar[off] !== 0) {
    headers.push(off);
    const size = parseInt(
      tar
        .subarray(off + 124, off + 136)
        .toString('latin1')
        .replace(/\0.*$/, '')
        .trim() || '0',
      8,
    );
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return { tar: Buffer.concat([tar.subarray(0, off), Buffer.alloc(1024)]), headers };
}

function setChecksum(b: Buffer, h: number): void {
  b.fill(0x20, h + 148, h + 156);
  let sum = 0;
  for (let i = h; i < h + 512; i++) sum += b[i] as number;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, h + 148, 'latin1');
}

const NAMES = ['../escape.h', '/abs/path.h', 'include/../../up.h', 'a\0b.h', 'x'.repeat(99), './include/linux/', '', 'include/linux/kconfig.h'];
const LINKS = ['../../../../../../etc/passwd', '/etc/passwd', 'include', '.', '..', 'linux/types.h', 'a/b/../../../c', ''];
const TYPES = ['0', '1', '2', '3', '4', '5', '6', '7', 'x', 'g', 'L', 'K', 'S', 'Z', '\0'];

/** One mutated copy of `base`. */
function mutate(base: { tar: Buffer; headers: number[] }, r: () => number): Buffer {
  const b = Buffer.from(base.tar);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const rounds = 1 + Math.floor(r() * 3);
  for (let k = 0; k < rounds; k++) {
    const h = pick(base.headers);
    switch (Math.floor(r() * 8)) {
      case 0:
        b.write(pick(TYPES), h + 156, 'latin1');
        break;
      case 1:
        b.fill(0, h, h + 100);
        b.write(pick(NAMES).slice(0, 100), h, 'latin1');
        break;
      case 2:
        b.fill(0, h + 157, h + 257);
        b.write(pick(LINKS), h + 157, 'latin1');
        if (r() < 0.7) b.write('2', h + 156, 'latin1');
        break;
      case 3:
        b.write(pick(['77777777777\0', '00000000000\0', '0000000001\0\0', 'zzzzzzzzzzz\0', '\x80\0\0\0\0\0\0\0\xff\xff\xff\xff']), h + 124, 'latin1');
        break;
      case 4:
        b.write(pick(['0007777\0', '0000000\0', 'garbage\0']), h + 100, 'latin1');
        break;
      case 5:
        b.write(pick(['0000000\0', '7777777\0', '       ']), h + 148, 'latin1');
        break;
      case 6:
        b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
        break;
      default:
        return b.subarray(0, Math.floor(r() * b.length)); // truncation
    }
    if (r() < 0.6) setChecksum(b, h); // most mutations reach the policy, not only the checksum test
  }
  return b;
}

/** Every path under `dir`, and that symlinks resolve inside it. */
function assertInside(dir: string, seed: number): void {
  const real = fs.realpathSync(dir);
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = fs.realpathSync(p);
        } catch {
          continue; // dangling inside the tree: allowed
        }
        assert.ok(target === real || target.startsWith(`${real}/`), `seed ${seed}: ${p} resolves to ${target}, outside the tree`);
      } else if (st.isDirectory()) walk(p);
      else assert.ok(st.isFile(), `seed ${seed}: ${p} is neither file, dir nor symlink`);
    }
  };
  walk(dir);
}

test(`${CASES} seeded mutations of a real kheaders archive: a typed error or a tree inside its destination`, { skip, timeout: 600_000 }, async (t) => {
  const fx = buildKheadersFixture();
  const base = prefix(execFileSync('xz', ['-dc', fx.archive], { maxBuffer: 256 * 1024 * 1024 }), ENTRIES);
  assert.equal(base.headers.length, ENTRIES);
  const outcomes = new Map<string, number>();
  for (let seed = 1; seed <= CASES; seed++) {
    const bytes = mutate(base, prng(seed));
    const parent = path.join(work, `case-${seed}`);
    const dest = path.join(parent, 'dest');
    fs.mkdirSync(dest, { recursive: true });
    try {
      await extractInto(bytes, dest, { compression: 'none' });
      assertInside(dest, seed);
      outcomes.set('extracted', (outcomes.get('extracted') ?? 0) + 1);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      assert.ok(isBpfCompileError(err) && err.code.startsWith('ARCHIVE_'), `seed ${seed}: not a typed archive error: ${String(err)}`);
      outcomes.set(err.code, (outcomes.get(err.code) ?? 0) + 1);
    }
    assert.deepEqual(fs.readdirSync(parent), ['dest'], `seed ${seed}: something was written beside the destination`);
    fs.rmSync(parent, { recursive: true, force: true });
  }
  // the mutations reach every outcome, so the test is not vacuous
  for (const o of ['extracted', 'ARCHIVE_UNSAFE', 'ARCHIVE_CORRUPT']) assert.ok((outcomes.get(o) ?? 0) > 0, `no case ended in ${o}: ${JSON.stringify([...outcomes])}`);
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
});
