// lib/cli/std-write.ts: the CLI's own stdout/stderr written with write(2), run in child processes (it writes to the
// process's real descriptors).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../lib/cli/std-write.ts', import.meta.url));

/** Run `body` (ESM, with `writeStd` imported) in a child node; its stdio as given. */
function run(body: string, stdio: Parameters<typeof spawnSync>[2] extends infer O ? (O extends { stdio?: infer S } ? S : never) : never) {
  const code = `import { writeStd } from ${JSON.stringify(MODULE)};\n${body}`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio, encoding: 'utf8', timeout: 60_000 });
}

test('writeStd: text reaches stdout and stderr in order, as UTF-8, whatever the descriptor is', () => {
  const r = run("writeStd('stdout', 'one\\n'); writeStd('stderr', 'warn ✓\\n'); writeStd('stdout', 'two ✓\\n'); process.stdout.write('three\\n');", ['ignore', 'pipe', 'pipe']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'one\ntwo ✓\nthree\n');
  assert.equal(r.stderr, 'warn ✓\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-stdwrite-'));
  try {
    const file = path.join(dir, 'out.txt');
    const fd = fs.openSync(file, 'w');
    const f = run("writeStd('stdout', 'x'.repeat(1 << 20)); writeStd('stdout', 'end\\n');", ['ignore', fd, 'pipe']);
    fs.closeSync(fd);
    assert.equal(f.status, 0, f.stderr);
    assert.equal(fs.readFileSync(file, 'utf8'), `${'x'.repeat(1 << 20)}end\n`, 'a 1 MiB write to a file arrives whole');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The compiled module, run by plain node: under tsx's loader node has already created process.stdout (tsx loads tty),
// which makes a pipe's descriptor non-blocking, and the write(2) path is then not the one taken.
const BUILT = fileURLToPath(new URL('../../dist/lib/cli/std-write.js', import.meta.url));

test('writeStd: a reader that went away (EPIPE) stops the process quietly with the exit code it had', (t) => {
  if (!fs.existsSync(BUILT)) {
    t.skip(`needs the build (${BUILT}): run npm run build`);
    return;
  }
  // `| head -c 1`: the reader exits after one byte; the writer must neither print a stack trace nor go on writing
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-stdwrite-'));
  try {
    const status = path.join(dir, 'status');
    for (let i = 0; i < 5; i++) {
      const r = spawnSync('/bin/sh', ['-c', '{ "$NODE" --input-type=module -e "$CODE" 2>"$ERR"; echo $? > "$STATUS"; } | head -c 1 >/dev/null'], {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          NODE: process.execPath,
          STATUS: status,
          ERR: path.join(dir, 'err'),
          CODE: `import { writeStd } from ${JSON.stringify(BUILT)};\nprocess.exitCode = 3;\nfor (let i = 0; i < 10000; i++) writeStd('stdout', 'y'.repeat(4096));\nwriteStd('stderr', 'not reached\\n');`,
        },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(status, 'utf8').trim(), '3', 'the exit code it had');
      assert.equal(fs.readFileSync(path.join(dir, 'err'), 'utf8'), '', 'nothing on stderr: no stack trace, and the loop stopped at the first EPIPE');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeStd: a non-blocking descriptor that fills (EAGAIN) hands the rest to the stream: nothing lost, in order', () => {
  // process.stdout created first makes the pipe non-blocking (as a parent sharing it may have); the reader starts late,
  // so the pipe fills and write(2) says EAGAIN
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-stdwrite-'));
  try {
    const out = path.join(dir, 'out');
    const code = [
      `import { writeStd } from ${JSON.stringify(MODULE)};`,
      'const stream = process.stdout;',
      "for (let i = 0; i < 2000; i++) writeStd('stdout', `${String(i).padStart(8, '0')}${'y'.repeat(4087)}\\n`);",
      "writeStd('stdout', 'end\\n');",
      "process.on('exit', () => writeStd('stderr', `stream wrote ${stream.bytesWritten}\\n`));",
    ].join('\n');
    const r = spawnSync('/bin/sh', ['-c', '"$NODE" --import tsx --input-type=module -e "$CODE" | { sleep 0.3; cat > "$OUT"; }'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NODE: process.execPath, OUT: out, CODE: code },
    });
    assert.equal(r.status, 0, r.stderr);
    const m = /stream wrote (\d+)/.exec(r.stderr);
    assert.ok(m !== null && Number(m[1]) > 0, `the stream took over: ${r.stderr}`);
    const lines = fs.readFileSync(out, 'utf8').split('\n');
    assert.equal(lines.length, 2002);
    for (let i = 0; i < 2000; i++) assert.equal(lines[i]!.slice(0, 8), String(i).padStart(8, '0'), `line ${i} in place`);
    assert.equal(lines[2000], 'end');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeStd: a closed stdout (`>&-`) is no error: node opens /dev/null on a closed 0-2 as it starts', () => {
  const r = spawnSync('/bin/sh', ['-c', '"$NODE" --import tsx --input-type=module -e "$CODE" >&-'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      NODE: process.execPath,
      CODE: `import { writeStd } from ${JSON.stringify(MODULE)};\nwriteStd('stdout', 'lost\\n');\nwriteStd('stderr', 'still here\\n');`,
    },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, 'still here\n');
});
