#!/usr/bin/env node
// {{name}}: compile src/kprobe.bpf.c against kernel headers with bpf-compile and, as root with bpftool,
// load it, dump its (empty, not yet attached) "procs" map, and remove the pins.
//
//   node index.mjs                                       # targets the running kernel
//   BPF_COMPILE_KERNEL_RELEASE=6.1.0-56-amd64 node index.mjs  # targets installed headers of another release
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, isBpfCompileError } from 'bpf-compile';

const here = path.dirname(fileURLToPath(import.meta.url));
const release = process.env.BPF_COMPILE_KERNEL_RELEASE || undefined;
const object = path.join(here, 'build', 'kprobe.bpf.o');

/** Why programs cannot be loaded here, or undefined when they can (root and bpftool). */
function cannotLoad() {
  if (process.getuid?.() !== 0) return 'not running as root';
  const v = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
  return v.error !== undefined || v.status !== 0 ? 'bpftool is not installed' : undefined;
}

/** Run bpftool; throw with its output when it fails. */
function bpftool(...args) {
  const r = spawnSync('bpftool', args, { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) throw new Error(`bpftool ${args.join(' ')} failed:\n${(r.stderr || r.stdout || String(r.error)).trim().slice(-2000)}`);
  return r.stdout;
}

try {
  fs.mkdirSync(path.dirname(object), { recursive: true });
  const r = await compile({ source: path.join(here, 'src', 'kprobe.bpf.c'), output: object, mode: 'kernel', kernelRelease: release });
  for (const w of r.warnings) console.log(`warning: ${w}`);
  console.log(`compiled build/kprobe.bpf.o in ${r.mode} mode for ${r.target.release} (headers: ${r.headers?.source ?? 'none'})`);
} catch (err) {
  if (!isBpfCompileError(err)) throw err;
  console.error(`error: ${err.message}`);
  for (const t of err.tried) console.error(`  tried ${t.what}: ${t.outcome}`);
  if (err.hint) console.error(`hint: ${err.hint}`);
  process.exit(1);
}

const why = cannotLoad();
if (why !== undefined) {
  console.log(`load skipped: ${why}`);
} else {
  const pin = `/sys/fs/bpf/kprobe-${process.pid}`;
  try {
    bpftool('prog', 'loadall', object, pin, 'pinmaps', `${pin}-maps`);
    console.log(`loaded: ${fs.readdirSync(pin).join(', ')} (accepted by the verifier, not attached)`);
    const entries = JSON.parse(bpftool('-j', 'map', 'dump', 'pinned', `${pin}-maps/procs`));
    console.log(`map procs: ${entries.length} entries`);
  } catch (err) {
    console.error(`load failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    for (const p of [pin, `${pin}-maps`]) fs.rmSync(p, { recursive: true, force: true });
  }
}
