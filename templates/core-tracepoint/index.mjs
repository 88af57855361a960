#!/usr/bin/env node
// {{name}}: compile src/core_tracepoint.bpf.c as a CO-RE program (vmlinux.h generated from the running kernel's
// BTF by bpf-compile, no kernel headers needed) and, as root with bpftool, load it, dump its (empty, not yet
// attached) "exec_count" map, and remove the pins.
//
//   node index.mjs
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, isBpfCompileError } from 'bpf-compile';

const here = path.dirname(fileURLToPath(import.meta.url));
const object = path.join(here, 'build', 'core_tracepoint.bpf.o');

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
  const r = await compile({ source: path.join(here, 'src', 'core_tracepoint.bpf.c'), output: object, mode: 'core' });
  for (const w of r.warnings) console.log(`warning: ${w}`);
  console.log(`compiled build/core_tracepoint.bpf.o in ${r.mode} mode (vmlinux.h from ${r.headers?.kind === 'vmlinux' ? r.headers.btf : 'BTF'})`);
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
  const pin = `/sys/fs/bpf/core-tracepoint-${process.pid}`;
  try {
    bpftool('prog', 'loadall', object, pin, 'pinmaps', `${pin}-maps`);
    console.log(`loaded: ${fs.readdirSync(pin).join(', ')} (accepted by the verifier, not attached)`);
    const entries = JSON.parse(bpftool('-j', 'map', 'dump', 'pinned', `${pin}-maps/exec_count`));
    const execs = entries.reduce((n, e) => n + Number(e.formatted?.value ?? 0), 0);
    console.log(`map exec_count: ${entries.length} entries, ${execs} execs counted`);
  } catch (err) {
    console.error(`load failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    for (const p of [pin, `${pin}-maps`]) fs.rmSync(p, { recursive: true, force: true });
  }
}
