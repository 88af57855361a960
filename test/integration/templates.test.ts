import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { compile } from '../../lib/compile/index.js';
import { initProject } from '../../lib/init/index.js';
import { probeBpf } from '../../lib/doctor/bpf-probe.js';
import { packageInfo } from '../../lib/system/package-info.js';
import { findDebianHeaderTrees } from '../helpers/kheaders-fixture.js';

const run = promisify(execFile);
/** The release of the installed Debian headers package (whatever its ABI number), or a placeholder that skips. */
const DEBIAN_REL = findDebianHeaderTrees()?.release ?? 'no-debian-headers-installed';
const repo = packageInfo().dir;
let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-templates-'));
});
after(async () => fs.rm(tmp, { recursive: true, force: true }));

const distBuilt = await fs.access(path.join(repo, 'dist/lib/index.js')).then(
  () => true,
  () => false,
);
const haveDebianHeaders = await fs.access(`/lib/modules/${DEBIAN_REL}/build`).then(
  () => true,
  () => false,
);
const bpf = await probeBpf();
if (!bpf.permitted) console.log(`# templates: loads will be skipped by index.mjs: ${bpf.reason ?? ''}`);

interface Case {
  readonly template: string;
  readonly source: string;
  readonly mode: 'kernel' | 'core' | 'plain';
  readonly kernelRelease?: string;
  /** Lines index.mjs prints after a load. */
  readonly loaded: readonly RegExp[];
}

const CASES: readonly Case[] = [
  { template: 'kprobe', source: 'src/kprobe.bpf.c', mode: 'kernel', kernelRelease: DEBIAN_REL, loaded: [/loaded: on_nanosleep/, /map procs: 0 entries/] },
  { template: 'core-tracepoint', source: 'src/core_tracepoint.bpf.c', mode: 'core', loaded: [/loaded: on_exec/, /map exec_count: 1 entries, 0 execs counted/] },
  { template: 'xdp-counter', source: 'src/xdp_counter.bpf.c', mode: 'plain', loaded: [/loaded: xdp_count/, /xdp verdicts: port 9: DROP, port 53: PASS/, /UDP packets counted: 2/] },
];

for (const c of CASES) {
  const skip = c.kernelRelease !== undefined && !haveDebianHeaders ? `no headers for ${c.kernelRelease}` : false;
  test(`template ${c.template}: init, compile with the library, run index.mjs`, { skip, timeout: 180_000 }, async (t) => {
    const dir = path.join(tmp, `my-${c.template}`);
    const cacheDir = path.join(tmp, 'cache');
    const r = await initProject({ template: c.template, dir });
    assert.ok(r.files.includes(c.source));
    const out = path.join(dir, 'build', path.basename(c.source).replace(/\.c$/, '.o'));
    await fs.mkdir(path.dirname(out), { recursive: true });
    const compiled = await compile({ source: path.join(dir, c.source), output: out, cacheDir, ...(c.kernelRelease === undefined ? {} : { kernelRelease: c.kernelRelease }) });
    assert.equal(compiled.mode, c.mode);
    assert.ok((await fs.stat(out)).size > 0);

    if (!distBuilt) return t.skip('dist/ not built (npm run build): index.mjs imports bpf-compile from dist');
    await fs.mkdir(path.join(dir, 'node_modules'), { recursive: true });
    await fs.symlink(repo, path.join(dir, 'node_modules', 'bpf-compile'));
    const res = await run(process.execPath, ['index.mjs'], {
      cwd: dir,
      env: { ...process.env, BPF_COMPILE_KERNEL_RELEASE: DEBIAN_REL, BPF_COMPILE_CACHE_DIR: cacheDir },
      timeout: 120_000,
    });
    assert.match(res.stdout, new RegExp(`compiled build/${path.basename(out).replace(/\./g, '\\.')} in ${c.mode} mode`));
    if (c.template === 'kprobe') assert.match(res.stdout, new RegExp(`for ${DEBIAN_REL.replace(/\./g, '\\.')}`));
    if (!bpf.permitted) {
      assert.match(res.stdout, /load skipped: /);
      return t.skip(`load not checked: ${bpf.reason ?? ''}`);
    }
    for (const re of c.loaded) assert.match(res.stdout, re);
    const left = (await fs.readdir('/sys/fs/bpf')).filter((n) => n.startsWith(`${c.template}-`));
    assert.deepEqual(left, [], 'pins cleaned');
  });
}
