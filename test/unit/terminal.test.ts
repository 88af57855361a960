// lib/system/terminal.ts: whether stderr is a terminal, asked of real descriptors in child processes. The compiled
// module runs under plain node: tsx's loader creates the process's streams itself, which is what must not happen.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BUILT = fileURLToPath(new URL('../../dist/lib/system/terminal.js', import.meta.url));

/** Prints `stderrIsTerminal()`, then whether `net` (what a pipe's stream is made of) got loaded. */
const CODE = `import { stderrIsTerminal } from ${JSON.stringify(BUILT)};
const answer = stderrIsTerminal();
const net = process.moduleLoadList.includes('NativeModule net');
process.stdout.write(JSON.stringify({ answer, net }));`;

/** Run CODE with stderr redirected as `redirect` says (a shell redirection). */
function ask(redirect: string): { answer: boolean; net: boolean } {
  const r = spawnSync('/bin/sh', ['-c', `"$NODE" --input-type=module -e "$CODE" ${redirect}`], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE: process.execPath, CODE },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { answer: boolean; net: boolean };
}

test('stderrIsTerminal: a pipe, a file, /dev/null or a closed stderr is no terminal, and a pipe gets no stream built', (t) => {
  if (!fs.existsSync(BUILT)) {
    t.skip(`needs the build (${BUILT}): run npm run build`);
    return;
  }
  assert.deepEqual(ask('2>&1 | cat'), { answer: false, net: false }, 'a pipe: no terminal, and net was not loaded to find out');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-terminal-'));
  try {
    assert.equal(ask(`2>${JSON.stringify(path.join(dir, 'err'))}`).answer, false, 'a file');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(ask('2>/dev/null').answer, false, '/dev/null is a character device, not a terminal');
  assert.equal(ask('2>&-').answer, false, 'a closed descriptor');
});

test('stderrIsTerminal: a pseudo-terminal is one', (t) => {
  if (!fs.existsSync(BUILT)) {
    t.skip(`needs the build (${BUILT}): run npm run build`);
    return;
  }
  // util-linux's script(1) runs the command on a new pty
  const script = ['/usr/bin/script', '/bin/script'].find((p) => fs.existsSync(p));
  if (script === undefined) {
    t.skip('needs script(1) (util-linux) to make a pseudo-terminal');
    return;
  }
  const r = spawnSync(script, ['-qec', `"$NODE" --input-type=module -e "$CODE"`, '/dev/null'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE: process.execPath, CODE },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.replace(/\r/g, '').trim()) as { answer: boolean };
  assert.equal(out.answer, true);
});
