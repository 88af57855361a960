/**
 * Unit tests of lib/kmod/load.ts with a fake `modprobe` on PATH that logs its arguments and creates or
 * removes `<live>/sys/module/kheaders` under a fake live root.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findModprobe, isKheadersModuleLoaded, withKheadersModuleLoaded } from '../../lib/kmod/load.js';
import type { KheadersLoadOptions, KheadersLoaded, KheadersNotLoaded } from '../../lib/kmod/load.js';
import { tempDir } from '../helpers/fake-kernel.js';

const REL = '6.18.0-test';
let tmp: { dir: string; cleanup: () => Promise<void> };
let n = 0;

const FAKE_MODPROBE = `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = "-r" ]; then
  [ -n "$FAKE_RMMOD_FAIL" ] && { echo "modprobe: FATAL: Module kheaders is in use." >&2; exit 1; }
  rmdir "$FAKE_LIVE/sys/module/kheaders"
  exit 0
fi
[ -n "$FAKE_FAIL" ] && { echo "modprobe: FATAL: Module kheaders not found in directory /lib/modules/${REL}" >&2; exit 1; }
[ -n "$FAKE_NOOP" ] && exit 0
mkdir -p "$FAKE_LIVE/sys/module/kheaders"
`;

interface Fixture {
  readonly live: string;
  readonly log: string;
  readonly bin: string;
  readonly opts: KheadersLoadOptions;
  logged(): Promise<string[]>;
}

async function fixture(extraEnv: Record<string, string> = {}, over: Partial<KheadersLoadOptions> = {}): Promise<Fixture> {
  const base = path.join(tmp.dir, `case${n++}`);
  const live = path.join(base, 'live');
  const bin = path.join(base, 'bin');
  const log = path.join(base, 'modprobe.log');
  await fs.mkdir(path.join(live, 'sys/module'), { recursive: true });
  await fs.mkdir(bin, { recursive: true });
  await fs.writeFile(path.join(bin, 'modprobe'), FAKE_MODPROBE, { mode: 0o755 });
  const opts: KheadersLoadOptions = {
    policy: 'auto',
    root: '/',
    release: REL,
    runningRelease: REL,
    uid: 0,
    liveRoot: live,
    systemBinDirs: [],
    env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, FAKE_LIVE: live, ...extraEnv },
    ...over,
  };
  return {
    live,
    log,
    bin,
    opts,
    async logged(): Promise<string[]> {
      try {
        return (await fs.readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
      } catch {
        return [];
      }
    },
  };
}

function ran<T>(r: KheadersLoaded<T> | KheadersNotLoaded): KheadersLoaded<T> {
  assert.ok('result' in r, `did not run: ${'reason' in r ? r.reason : ''}`);
  return r;
}

function refused<T>(r: KheadersLoaded<T> | KheadersNotLoaded): string {
  assert.ok('reason' in r, 'fn ran but should not have');
  return r.reason;
}

const never = async (): Promise<never> => {
  throw new Error('fn must not run');
};

before(async () => {
  tmp = await tempDir('bpfc-kmod-load-');
});
after(async () => tmp.cleanup());

describe('withKheadersModuleLoaded', () => {
  test('loads, runs fn with the module loaded, unloads', async () => {
    const f = await fixture();
    const r = ran(
      await withKheadersModuleLoaded(f.opts, async () => {
        assert.equal(await isKheadersModuleLoaded(f.live), true);
        return 42;
      }),
    );
    assert.equal(r.loaded, true);
    assert.equal(r.result, 42);
    assert.equal(r.unloadError, undefined);
    assert.deepEqual(await f.logged(), ['kheaders', '-r kheaders']);
    assert.equal(await isKheadersModuleLoaded(f.live), false);
  });

  test('already loaded (/sys/module/kheaders): runs fn, never calls modprobe', async () => {
    const f = await fixture();
    await fs.mkdir(path.join(f.live, 'sys/module/kheaders'));
    const r = ran(await withKheadersModuleLoaded(f.opts, async () => 'x'));
    assert.equal(r.loaded, false);
    assert.deepEqual(await f.logged(), []);
    assert.equal(await isKheadersModuleLoaded(f.live), true);
  });

  test('already loaded (/proc/modules lists it)', async () => {
    const f = await fixture();
    await fs.mkdir(path.join(f.live, 'proc'));
    await fs.writeFile(path.join(f.live, 'proc/modules'), 'nf_tables 356352 0 - Live 0x0\nkheaders 4194304 0 - Live 0x0\n');
    const r = ran(await withKheadersModuleLoaded(f.opts, async () => 'x'));
    assert.equal(r.loaded, false);
    assert.deepEqual(await f.logged(), []);
  });

  test('fn throwing still unloads, and the error propagates', async () => {
    const f = await fixture();
    await assert.rejects(
      withKheadersModuleLoaded(f.opts, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await f.logged(), ['kheaders', '-r kheaders']);
    assert.equal(await isKheadersModuleLoaded(f.live), false);
  });

  test('a failed unload is reported, not thrown', async () => {
    const f = await fixture({ FAKE_RMMOD_FAIL: '1' });
    const r = ran(await withKheadersModuleLoaded(f.opts, async () => 1));
    assert.equal(r.loaded, true);
    assert.match(r.unloadError ?? '', /in use/);
  });

  test('modprobe failing gives its message as the reason; fn does not run', async () => {
    const f = await fixture({ FAKE_FAIL: '1' });
    const reason = refused(await withKheadersModuleLoaded(f.opts, never));
    assert.match(reason, /cannot load the kheaders module: .*modprobe kheaders` exited with 1: modprobe: FATAL: Module kheaders not found/);
    assert.deepEqual(await f.logged(), ['kheaders']);
  });

  test('modprobe succeeding without loading (install rule) is a reason, and nothing is unloaded', async () => {
    const f = await fixture({ FAKE_NOOP: '1' });
    assert.match(refused(await withKheadersModuleLoaded(f.opts, never)), /not loaded/);
    assert.deepEqual(await f.logged(), ['kheaders']);
  });

  test('no modprobe on this machine', async () => {
    const f = await fixture();
    await fs.rm(path.join(f.bin, 'modprobe'));
    assert.match(refused(await withKheadersModuleLoaded(f.opts, never)), /^no modprobe on this machine/);
  });

  test('policy never', async () => {
    const f = await fixture();
    assert.match(refused(await withKheadersModuleLoaded({ ...f.opts, policy: 'never' }, never)), /"never"/);
    assert.deepEqual(await f.logged(), []);
  });

  test('auto as non-root is refused; always as non-root tries', async () => {
    const f = await fixture();
    assert.match(refused(await withKheadersModuleLoaded({ ...f.opts, uid: 1000 }, never)), /not running as root/);
    assert.deepEqual(await f.logged(), []);
    const r = ran(await withKheadersModuleLoaded({ ...f.opts, uid: 1000, policy: 'always' }, async () => 'ok'));
    assert.equal(r.loaded, true);
    assert.deepEqual(await f.logged(), ['kheaders', '-r kheaders']);
  });

  test('not the running kernel, or another root: refused', async () => {
    const f = await fixture();
    assert.match(refused(await withKheadersModuleLoaded({ ...f.opts, release: '6.1.0-56-amd64' }, never)), /not the running kernel \(6\.18\.0-test\)/);
    assert.match(refused(await withKheadersModuleLoaded({ ...f.opts, root: '/mnt/image' }, never)), /system root is \/mnt\/image/);
    assert.deepEqual(await f.logged(), []);
  });
});

describe('findModprobe', () => {
  test('PATH first, then the system dirs; relative and empty PATH entries are skipped', async () => {
    const f = await fixture();
    assert.equal(await findModprobe({ PATH: `relative:${f.bin}` }, []), path.join(f.bin, 'modprobe'));
    assert.equal(await findModprobe({ PATH: '' }, [f.bin]), path.join(f.bin, 'modprobe'));
    assert.equal(await findModprobe({}, []), undefined);
    await fs.chmod(path.join(f.bin, 'modprobe'), 0o644);
    // root can read anything but X_OK still needs an x bit
    assert.equal(await findModprobe({ PATH: f.bin }, []), undefined);
  });
});
