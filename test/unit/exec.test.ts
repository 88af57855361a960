// lib/system/exec.ts: running programs and pipelines with real processes (sh, cat, tr, head, sleep).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exec, execPipeline } from '../../lib/system/exec.js';

test('exec captures stdout and stderr, one final newline removed, and the exit status', async () => {
  const r = await exec('sh', ['-c', 'printf "out\\n\\n"; printf "err\\n" >&2; exit 0']);
  assert.equal(r.ok, true);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'out\n', 'only one final newline is removed');
  assert.equal(r.stderr, 'err');
  assert.equal(r.command, 'sh -c printf "out\\n\\n"; printf "err\\n" >&2; exit 0');
  assert.equal(r.spawnError, undefined);
});

test('exec: interleaved output in arrival order, non-zero exit, stdin from input or /dev/null', async () => {
  const r = await exec('sh', ['-c', 'echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c; exit 3']);
  assert.equal(r.ok, false);
  assert.equal(r.exitCode, 3);
  assert.equal(r.all, 'a\nb\nc');
  const cat = await exec('cat', [], { input: 'fed through stdin' });
  assert.equal(cat.stdout, 'fed through stdin');
  const none = await exec('cat', []);
  assert.equal(none.ok, true, 'without input, stdin is /dev/null: cat ends at once');
  assert.equal(none.stdout, '');
});

test('exec: a program that cannot be started, an environment given whole, a working directory', async () => {
  const missing = await exec('/nonexistent/bpfc-no-such-tool', ['x']);
  assert.equal(missing.ok, false);
  assert.equal(missing.exitCode, undefined);
  assert.match(missing.spawnError ?? '', /ENOENT/);
  const env = await exec('/usr/bin/env', [], { env: { ONLY_THIS: '1' } });
  assert.equal(env.stdout, 'ONLY_THIS=1');
  const cwd = await exec('pwd', [], { cwd: '/' });
  assert.equal(cwd.stdout, '/');
  const bad = await exec('echo', ['nul\0byte']);
  assert.equal(bad.ok, false);
  assert.notEqual(bad.spawnError, undefined, 'an argument node refuses is a result, not a throw');
});

test('exec: a timeout kills the program and says so', async () => {
  const started = Date.now();
  const r = await exec('sleep', ['10'], { timeoutMs: 100 });
  assert.equal(r.timedOut, true);
  assert.equal(r.ok, false);
  assert.equal(r.signal, 'SIGTERM');
  assert.equal(r.exitCode, undefined);
  assert.ok(Date.now() - started < 5000, 'killed, not waited for');
  const quick = await exec('true', [], { timeoutMs: 10_000 });
  assert.equal(quick.timedOut, false);
  assert.equal(quick.ok, true);
});

test('execPipeline: stdout feeds the next stage; the last one is captured; every stage has its result', async () => {
  const rs = await execPipeline(
    [
      { file: 'sh', args: ['-c', 'echo one; echo two; echo warn >&2'] },
      { file: 'tr', args: ['a-z', 'A-Z'] },
      { file: 'sh', args: ['-c', 'cat; echo tail >&2'] },
    ],
    {},
  );
  assert.deepEqual(
    rs.map((r) => r.ok),
    [true, true, true],
  );
  assert.equal(rs[0]?.stdout, '', 'a stage feeding the next one captures nothing');
  assert.equal(rs[0]?.stderr, 'warn');
  assert.equal(rs[2]?.stdout, 'ONE\nTWO');
  assert.equal(rs[2]?.stderr, 'tail');
  const fed = await execPipeline(
    [
      { file: 'cat', args: [] },
      { file: 'wc', args: ['-c'] },
    ],
    { input: 'x'.repeat(1000) },
  );
  assert.equal(fed[1]?.stdout.trim(), '1000');
});

test('execPipeline: a stage that stops reading does not block the one before it (no deadlock, own exit status)', async () => {
  // 8 MB through a stage that reads one byte and exits: the writer must run to its end, not wait on a full pipe
  const rs = await execPipeline([
    { file: 'sh', args: ['-c', 'head -c 8000000 /dev/zero; echo done >&2'] },
    { file: 'head', args: ['-c', '1'] },
    { file: 'wc', args: ['-c'] },
  ]);
  assert.equal(rs[1]?.ok, true);
  assert.equal(rs[2]?.stdout.trim(), '1');
  assert.equal(rs[0]?.stderr, 'done', 'the first stage ran to its end');
  assert.equal(rs[0]?.ok, true);
});

test('execPipeline: a failing or missing stage is reported; the next one sees end of input', async () => {
  const rs = await execPipeline([
    { file: 'sh', args: ['-c', 'echo partial; echo "error: bad input" >&2; exit 1'] },
    { file: 'cat', args: [] },
  ]);
  assert.equal(rs[0]?.ok, false);
  assert.equal(rs[0]?.exitCode, 1);
  assert.equal(rs[0]?.stderr, 'error: bad input');
  assert.equal(rs[1]?.stdout, 'partial');
  const missing = await execPipeline([
    { file: 'sh', args: ['-c', 'head -c 1000000 /dev/zero'] },
    { file: '/nonexistent/bpfc-stage', args: [] },
    { file: 'wc', args: ['-c'] },
  ]);
  assert.equal(missing[0]?.ok, true, 'the stage before a missing one runs to its end');
  assert.match(missing[1]?.spawnError ?? '', /ENOENT/);
  assert.equal(missing[2]?.stdout.trim(), '0', 'the stage after a missing one reads end of input');
  assert.deepEqual(await execPipeline([]), []);
});
