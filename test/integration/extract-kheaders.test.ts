/** The real thing: the gen_kheaders-style archive of the installed Debian headers. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractArchive, readUtsRelease } from '../../lib/archive/index.js';
import { buildKheadersFixture, kheadersFixtureSkipReason, type KheadersFixture } from '../helpers/kheaders-fixture.js';

const skip = kheadersFixtureSkipReason();
let tmp: string;
let fixture: KheadersFixture;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-kh-'));
  if (skip === undefined) fixture = buildKheadersFixture();
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function listing(dir: string): string {
  return execFileSync('find', ['.', '-printf', '%y %P %s %l\\n'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 })
    .split('\n')
    .sort()
    .join('\n');
}

describe('kheaders archive of the Debian headers', { skip }, () => {
  for (const decoder of ['xz', 'lzma-native'] as const) {
    it(`extracts identically to GNU tar (${decoder}), with progress and the release`, async () => {
      const ref = path.join(tmp, `ref-${decoder}`);
      fs.mkdirSync(ref);
      execFileSync('tar', ['-xJf', fixture.archive, '-C', ref]);
      const events: Array<{ bytesRead: number; totalBytes: number | undefined }> = [];
      const out = path.join(tmp, `ours-${decoder}`);
      const r = await extractArchive(fixture.archive, out, { decoder, onProgress: (p) => events.push(p) });
      assert.equal(r.decoder, decoder);
      assert.equal(r.release, fixture.release);
      assert.equal(readUtsRelease(out), fixture.release);
      assert.equal(r.files, fixture.files);
      assert.equal(r.symlinks, fixture.symlinks);
      assert.equal(r.sha256, execFileSync('sha256sum', [fixture.archive], { encoding: 'utf8' }).split(' ')[0]);
      assert.equal(listing(out), listing(ref));
      execFileSync('diff', ['-r', '--no-dereference', ref, out]);
      const size = fs.statSync(fixture.archive).size;
      assert.ok(events.length > 5);
      assert.equal(events.at(-1)?.bytesRead, size);
      assert.ok(events.every((e) => e.totalBytes === size));
      assert.ok(events.every((e, i) => i === 0 || e.bytesRead > (events[i - 1]?.bytesRead ?? 0)));
    });
  }
  it('keeps the in-tree symlinks of include/dt-bindings', () => {
    const link = path.join(tmp, 'ours-xz', 'include/dt-bindings/input/linux-event-codes.h');
    assert.equal(fs.lstatSync(link).isSymbolicLink(), true);
    assert.equal(fs.readlinkSync(link), '../../uapi/linux/input-event-codes.h');
    assert.ok(fs.statSync(link).isFile());
  });
});
