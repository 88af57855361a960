import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressBar } from '../../lib/cli/progress.js';
import { formatBytes, parseDuration, parseSize } from '../../lib/cli/units.js';

function stream(isTTY: boolean): { isTTY: boolean; columns: number; text: string; write(t: string): void } {
  return {
    isTTY,
    columns: 80,
    text: '',
    write(t: string) {
      this.text += t;
    },
  };
}

test('the progress bar draws bytes of total on a TTY and clears the line when done', () => {
  const s = stream(true);
  const bar = progressBar('extracting', s);
  bar.update({ done: 0, total: 4 * 1024 * 1024 });
  bar.update({ done: 4 * 1024 * 1024, total: 4 * 1024 * 1024 });
  assert.match(s.text, /extracting \[#+\] 4\.0\/4\.0 MiB/);
  bar.finish();
  assert.ok(s.text.endsWith('\r\x1b[K'));
});

test('no progress bar when not a TTY or when quiet', () => {
  for (const [tty, quiet] of [
    [false, false],
    [true, true],
  ] as const) {
    const s = stream(tty);
    const bar = progressBar('x', s, quiet);
    bar.update({ done: 1, total: 2 });
    bar.finish();
    assert.equal(s.text, '');
  }
});

test('durations and sizes', () => {
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseSize('500M'), 500 * 1024 * 1024);
  assert.equal(parseSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseSize('1024'), 1024);
  assert.throws(() => parseDuration('soon'));
  assert.throws(() => parseSize('-1'));
  assert.equal(formatBytes(1536), '1.5 KiB');
});
