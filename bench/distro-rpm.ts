/**
 * RPM distro benchmark: a cold resolve through a loopback rpm-md repository (repomd + signature, primary, the
 * package's sha256 and OpenPGP signature and PAYLOADDIGEST, unpacking) against what a user does by hand — `curl`
 * the same package, then `rpm2cpio pkg.rpm | cpio -idm` into a fresh dir — side by side in one run. Goal ≤ 1.0×.
 *
 * The package is a Fedora-style kernel-devel made from the installed Debian headers (as the integration tests make
 * it), once with a zstd payload (Fedora, RHEL 9) and once with xz (EL ≤ 8, SUSE), served by a mirror in its own process
 * (`mirror-process.ts`). Uses /dev/shm when present. Skips,
 * saying why, without the tools or the headers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { resolveHeaders } from '../lib/resolve.js';
import { buildRpm, createRepo, debianHeaders, fedoraTree, makeRsaKey, rpmToolsSkipReason, signRpm } from '../test/helpers/rpm-repo.js';
import { startMirrorProcess } from './mirror-process.js';
import { printResults, sideBySide, type BenchResult } from './util.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);

export async function runDistroRpmBench(): Promise<BenchResult[]> {
  const missing = ['rpm2cpio', 'cpio', 'curl'].find((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  const skip = rpmToolsSkipReason() ?? (missing === undefined ? undefined : `${missing} is not installed`);
  if (skip !== undefined) {
    console.log(`rpm distro bench skipped: ${skip}`);
    return [];
  }
  const deb = debianHeaders();
  if (deb === undefined) {
    console.log('rpm distro bench skipped: no Debian kernel headers under /usr/src (apt-get install linux-headers-amd64)');
    return [];
  }
  const fsDir = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(fsDir, 'bpfc-bench-rpm-'));
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  const server = await startMirrorProcess(www); // its own process, as a real mirror: serving costs neither side anything
  try {
    const key = makeRsaKey(dir, 'bench');
    const results: BenchResult[] = [];
    for (const payload of ['zstd', 'xz'] as const) {
      const rel = `6.1.0-57.${payload}.fc99.x86_64`;
      const repo = path.join(www, payload);
      fs.mkdirSync(repo, { recursive: true });
      const tree = fedoraTree(deb, rel, dir);
      const rpm = buildRpm(
        { name: 'kernel-devel', version: '6.1.0', release: `57.${payload}.fc99`, arch: 'x86_64', copy: [{ from: tree, to: `/usr/src/kernels/${rel}` }], payload },
        repo,
      );
      fs.rmSync(tree, { recursive: true, force: true });
      signRpm(rpm, key);
      createRepo(repo, { compress: payload === 'zstd' ? 'zstd' : 'xz', signWith: key });
      const root = path.join(dir, `root-${payload}`);
      fs.mkdirSync(path.join(root, 'etc/yum.repos.d'), { recursive: true });
      fs.mkdirSync(path.join(root, 'etc/pki/rpm-gpg'), { recursive: true });
      fs.writeFileSync(path.join(root, 'etc/os-release'), 'ID=fedora\nVERSION_ID=99\n');
      fs.writeFileSync(path.join(root, 'etc/pki/rpm-gpg/key'), key.armored);
      fs.writeFileSync(
        path.join(root, 'etc/yum.repos.d/bench.repo'),
        `[bench]\nbaseurl=${server.url}/${payload}\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/key\n`,
      );
      let n = 0;
      const url = `${server.url}/${payload}/${path.basename(rpm)}`;
      const r = await sideBySide(
        RUNS,
        async () => {
          const c = path.join(dir, `cache-${n++}`);
          await resolveHeaders({ root, cacheDir: c, kernelRelease: rel, arch: 'x86_64', sources: ['distro'], env: { PATH: process.env['PATH'] }, kind: 'kernel-tree' });
          fs.rmSync(c, { recursive: true, force: true });
        },
        async () => {
          const d = path.join(dir, `cpio-${n++}`);
          fs.mkdirSync(d);
          await execa('sh', ['-c', 'curl -fsS -o pkg.rpm "$1" && mkdir x && cd x && rpm2cpio ../pkg.rpm | cpio -idm --quiet', 'sh', url], { cwd: d });
          fs.rmSync(d, { recursive: true, force: true });
        },
      );
      results.push({
        name: `kernel-devel from an rpm-md repo, cold (${payload} payload, ${(fs.statSync(rpm).size / 1048576).toFixed(1)} MB)`,
        ...r,
        ratio: r.ours / r.baseline,
        note: `goal ≤ 1.0×; vs curl + rpm2cpio | cpio -idm of the same package (no checks), loopback, ${fsDir}, ${RUNS} runs; ours verifies repomd, primary, the package signature and PAYLOADDIGEST`,
      });
    }
    return results;
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('rpm distro', await runDistroRpmBench());
