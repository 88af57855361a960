/**
 * Distro benchmark: compile-ready headers for a release not yet cached, from the machine's own apt repositories,
 * against what a user does by hand with warm apt lists — `apt-get download <the same packages>` then `dpkg-deb -x`
 * each into a fresh dir — side by side in one run. Goal with the indexes already cached: ≤ 1.0×. The first-ever run
 * (InRelease + Packages indexes downloaded and parsed too) is reported beside it.
 *
 * Uses the host's /etc/apt (copied into a fake root without headers), the newest 6.1 amd64 ABI the repositories hold,
 * and /dev/shm when present. Skips, saying why, without network or apt lists.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { resolveHeaders } from '../lib/resolve.js';
import { isBpfCompileError } from '../lib/errors.js';
import { printResults, median, sideBySide, timeOnce, type BenchResult } from './util.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const env = { PATH: process.env['PATH'] };

export async function runDistroBench(): Promise<BenchResult[]> {
  if (os.arch() !== 'x64' || !fs.existsSync('/etc/apt')) {
    console.log('distro bench skipped: needs an x86_64 Debian/Ubuntu host with apt');
    return [];
  }
  const fsDir = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(fsDir, 'bpfc-bench-distro-'));
  try {
    const root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    execFileSync('cp', ['-a', '/etc/apt', path.join(root, 'etc/apt')]);
    fs.copyFileSync('/etc/os-release', path.join(root, 'etc/os-release'));
    if (fs.existsSync('/usr/share/keyrings')) {
      fs.mkdirSync(path.join(root, 'usr/share'), { recursive: true });
      execFileSync('cp', ['-a', '/usr/share/keyrings', path.join(root, 'usr/share/keyrings')]);
    }
    // which release: the newest 6.1 amd64 ABI apt knows (warm lists are the baseline's premise)
    const names = execFileSync('apt-cache', ['search', '--names-only', '^linux-headers-6\\.1\\.0-[0-9]+-amd64$'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean)
      .sort((a, b) => Number(/-(\d+)-amd64$/.exec(b)?.[1]) - Number(/-(\d+)-amd64$/.exec(a)?.[1]));
    const pkg = names[0];
    if (pkg === undefined) {
      console.log('distro bench skipped: apt lists hold no linux-headers-6.1.0-*-amd64 (run apt-get update)');
      return [];
    }
    const release = pkg.replace(/^linux-headers-/, '');
    const warm = path.join(dir, 'cache-warm');
    const first = await timeOnce(() => resolveHeaders({ root, cacheDir: warm, kernelRelease: release, arch: 'x86_64', sources: ['distro'], env, kind: 'kernel-tree' }));
    const firstEver = [first];
    for (let i = 1; i < 3; i++) {
      firstEver.push(
        await timeOnce(() =>
          resolveHeaders({ root, cacheDir: path.join(dir, `cache-first-${i}`), kernelRelease: release, arch: 'x86_64', sources: ['distro'], env, kind: 'kernel-tree' }),
        ),
      );
      fs.rmSync(path.join(dir, `cache-first-${i}`), { recursive: true, force: true });
    }
    const manifest = fs.readdirSync(path.join(warm, 'distro')).find((k) => k.startsWith('p1-') && !k.includes('.')) as string;
    const pkgs = (JSON.parse(fs.readFileSync(path.join(warm, 'distro', manifest, 'manifest.json'), 'utf8')) as { extra: { packages: { name: string; version: string }[] } }).extra
      .packages;
    const spec = pkgs.map((p) => `${p.name}=${p.version}`);
    let n = 0;
    /** A cache with the indexes (and remembered Releases) already there, and no package set. */
    const indexedCache = (): string => {
      const c = path.join(dir, `cache-${n++}`);
      fs.mkdirSync(c);
      for (const sub of ['apt-index', 'distro-index']) execFileSync('cp', ['-a', path.join(warm, sub), path.join(c, sub)]);
      return c;
    };
    const r = await sideBySide(
      RUNS,
      async () => {
        const c = indexedCache();
        await resolveHeaders({ root, cacheDir: c, kernelRelease: release, arch: 'x86_64', sources: ['distro'], env, kind: 'kernel-tree' });
        fs.rmSync(c, { recursive: true, force: true });
      },
      async () => {
        const d = path.join(dir, `apt-${n++}`);
        fs.mkdirSync(path.join(d, 'x'), { recursive: true });
        await execa('apt-get', ['download', '-qq', ...spec], { cwd: d });
        for (const deb of fs.readdirSync(d).filter((f) => f.endsWith('.deb'))) await execa('dpkg-deb', ['-x', path.join(d, deb), path.join(d, 'x')]);
        fs.rmSync(d, { recursive: true, force: true });
      },
    ).catch((err: unknown) => {
      if (isBpfCompileError(err)) throw err;
      throw new Error(`apt-get download failed: ${(err as Error).message.slice(0, 300)}`);
    });
    const mb = pkgs.length;
    return [
      {
        name: `headers from apt repos, indexes cached (${release})`,
        ...r,
        ratio: r.ours / r.baseline,
        note: `goal ≤ 1.0×; vs apt-get download + dpkg-deb -x of the same ${mb} packages, ${fsDir}, ${RUNS} runs`,
      },
      {
        name: 'headers from apt repos, first-ever run (indexes too)',
        ours: median(firstEver),
        baseline: r.baseline,
        ratio: median(firstEver) / r.baseline,
        note: `InRelease + Packages of every configured suite downloaded and parsed, ${firstEver.length} runs; baseline as above (its lists were warm)`,
      },
    ];
  } catch (err) {
    if (isBpfCompileError(err) && err.details['reason'] === 'network') {
      console.log(`distro bench skipped: the repositories cannot be reached (${err.message})`);
      return [];
    }
    throw err;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('distro', await runDistroBench());
