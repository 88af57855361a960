#!/usr/bin/env node
// {{name}}: compile src/xdp_counter.bpf.c (uapi + libbpf headers only) and, as root with bpftool, load it, run it
// with `bpftool prog run` on crafted UDP packets (port 9 is dropped, others pass), read the UDP counter from the
// "proto_count" map, and remove the pins.
//
//   node index.mjs
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, isBpfCompileError } from 'bpf-compile';

const here = path.dirname(fileURLToPath(import.meta.url));
const object = path.join(here, 'build', 'xdp_counter.bpf.o');
const VERDICTS = ['ABORTED', 'DROP', 'PASS', 'TX', 'REDIRECT'];

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

/** A minimal Ethernet + IPv4 + UDP packet to `dport`. */
function udpPacket(dport) {
  const eth = Buffer.concat([Buffer.alloc(6, 0), Buffer.alloc(6, 0x11), Buffer.from([0x08, 0x00])]);
  const ip = Buffer.from([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(1234, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8, 4);
  return Buffer.concat([eth, ip, udp]);
}

try {
  fs.mkdirSync(path.dirname(object), { recursive: true });
  const r = await compile({ source: path.join(here, 'src', 'xdp_counter.bpf.c'), output: object, mode: 'plain' });
  for (const w of r.warnings) console.log(`warning: ${w}`);
  console.log(`compiled build/xdp_counter.bpf.o in ${r.mode} mode`);
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
  const pin = `/sys/fs/bpf/xdp-counter-${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xdp-counter-'));
  try {
    bpftool('prog', 'loadall', object, pin, 'pinmaps', `${pin}-maps`);
    console.log(`loaded: ${fs.readdirSync(pin).join(', ')}`);
    const verdicts = [9, 53].map((port) => {
      const pkt = path.join(tmp, `udp-${port}.bin`);
      fs.writeFileSync(pkt, udpPacket(port));
      const out = bpftool('prog', 'run', 'pinned', `${pin}/xdp_count`, 'data_in', pkt);
      return `port ${port}: ${VERDICTS[Number(/Return value: (\d+)/.exec(out)?.[1])] ?? 'unknown'}`;
    });
    const entry = JSON.parse(bpftool('-j', 'map', 'lookup', 'pinned', `${pin}-maps/proto_count`, 'key', '17', '0', '0', '0'));
    console.log(`xdp verdicts: ${verdicts.join(', ')}`);
    console.log(`UDP packets counted: ${entry.formatted?.value ?? entry.value}`);
  } catch (err) {
    console.error(`load failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    for (const p of [pin, `${pin}-maps`, tmp]) fs.rmSync(p, { recursive: true, force: true });
  }
}
