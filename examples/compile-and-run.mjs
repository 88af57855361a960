#!/usr/bin/env node
// A bcc-like tool in a few lines: resolve kernel headers, compile two programs with the right
// pipeline, and — when run as root — load them with bpftool and exercise the XDP one.
//
//   node examples/compile-and-run.mjs [kernel-release]
//
// Without an argument it targets the running kernel; on a machine whose running kernel has no
// headers, pass the release of an installed headers package (ls /lib/modules).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, isBpfCompileError, resolveHeaders } from 'bpf-compile';

const here = path.dirname(fileURLToPath(import.meta.url));
const release = process.argv[2] ?? os.release();
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bpf-compile-example-'));

try {
  const headers = await resolveHeaders({ kernelRelease: release });
  console.log(`headers: ${headers.source} ${headers.sourceDir} (UTS_RELEASE ${headers.utsRelease})`);
  for (const w of headers.warnings) console.log(`warning: ${w}`);

  const kprobe = await compile({ source: path.join(here, 'task_exec.bpf.c'), output: path.join(out, 'task_exec.bpf.o'), headers });
  console.log(`compiled ${path.basename(kprobe.output)} in ${kprobe.mode} mode`);
  const xdp = await compile({ source: path.join(here, 'xdp_counter.bpf.c'), output: path.join(out, 'xdp_counter.bpf.o'), mode: 'plain', kernelRelease: release });
  console.log(`compiled ${path.basename(xdp.output)} in ${xdp.mode} mode`);

  if (process.getuid?.() !== 0) {
    console.log('not root: skipping load (run as root to let the kernel verifier judge the objects)');
  } else {
    const pin = `/sys/fs/bpf/bpf-compile-example-${process.pid}`;
    try {
      execFileSync('bpftool', ['prog', 'loadall', kprobe.output, `${pin}-kprobe`]);
      console.log('kprobe program accepted by the verifier');
      execFileSync('bpftool', ['prog', 'loadall', xdp.output, pin, 'pinmaps', `${pin}-maps`]);
      const verdicts = [9, 53, 9].map((port) => {
        const pkt = path.join(out, `udp-${port}.bin`);
        fs.writeFileSync(pkt, udpPacket(port));
        const r = execFileSync('bpftool', ['prog', 'run', 'pinned', `${pin}/xdp_count`, 'data_in', pkt], { encoding: 'utf8' });
        return `port ${port}: ${['ABORTED', 'DROP', 'PASS', 'TX', 'REDIRECT'][Number(/Return value: (\d+)/.exec(r)?.[1])]}`;
      });
      const entry = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'lookup', 'pinned', `${pin}-maps/proto_count`, 'key', '17', '0', '0', '0'], { encoding: 'utf8' }));
      console.log(`xdp verdicts: ${verdicts.join(', ')}; UDP packets counted: ${entry.formatted.value}`);
    } finally {
      for (const p of [pin, `${pin}-maps`, `${pin}-kprobe`]) fs.rmSync(p, { recursive: true, force: true });
    }
  }
} catch (err) {
  if (!isBpfCompileError(err)) throw err;
  console.error(`error: ${err.message}`);
  for (const t of err.tried) console.error(`  tried ${t.what}: ${t.outcome}`);
  if (err.hint) console.error(`hint: ${err.hint}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}

/** Ethernet + IPv4 + UDP to `port`. */
function udpPacket(port) {
  const b = Buffer.alloc(42);
  b.fill(0x11, 6, 12);
  b.writeUInt16BE(0x0800, 12);
  Buffer.from([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]).copy(b, 14);
  b.writeUInt16BE(1234, 34);
  b.writeUInt16BE(port, 36);
  b.writeUInt16BE(8, 38);
  return b;
}
