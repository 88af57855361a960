import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { depfilePrerequisites, parseDepfile } from '../../lib/compile/depfile.js';

describe('parseDepfile', () => {
  test('a clang depfile with continuations and -MP phony targets', () => {
    const text = [
      '/out/x.o: /src/x.c /usr/include/linux/types.h \\',
      '  /usr/include/asm/types.h \\',
      '  /usr/include/asm-generic/int-ll64.h',
      '',
      '/usr/include/linux/types.h:',
      '',
      '/usr/include/asm/types.h:',
      '',
      '/usr/include/asm-generic/int-ll64.h:',
      '',
    ].join('\n');
    const d = parseDepfile(text);
    assert.deepEqual(d.prerequisites, ['/src/x.c', '/usr/include/linux/types.h', '/usr/include/asm/types.h', '/usr/include/asm-generic/int-ll64.h']);
    assert.equal(d.rules.length, 4);
    assert.deepEqual(d.rules[0]?.targets, ['/out/x.o']);
    assert.deepEqual(d.rules[1], { targets: ['/usr/include/linux/types.h'], prerequisites: [] });
  });

  test('escaped spaces, hashes and dollars', () => {
    const text = '-: a.c my\\ h.h /p/with\\#hash.h /p/cost$$.h /p/two\\ \\ spaces.h\n';
    assert.deepEqual(depfilePrerequisites(text), ['a.c', 'my h.h', '/p/with#hash.h', '/p/cost$.h', '/p/two  spaces.h']);
  });

  test('backslashes before a space: 2N+1 → N and a space, 2N → N and the end of the name', () => {
    assert.deepEqual(depfilePrerequisites('t: a\\\\\\ b c\\\\ d\n'), ['a\\ b', 'c\\', 'd']);
    assert.deepEqual(depfilePrerequisites('t: /p/back\\slash.h\n'), ['/p/back\\slash.h'], 'a backslash before a letter is literal');
  });

  test('targets: several, "-" for stdout, a colon inside a prerequisite is kept', () => {
    const d = parseDepfile('a.o b.o : x.c /p/odd:name.h\n');
    assert.deepEqual(d.rules[0]?.targets, ['a.o', 'b.o']);
    assert.deepEqual(d.prerequisites, ['x.c', '/p/odd:name.h']);
    assert.deepEqual(parseDepfile('-: x.c\n').rules[0]?.targets, ['-']);
  });

  test('CRLF line ends, tabs, comments, duplicates', () => {
    const text = '# generated\r\nx.o:\tx.c \\\r\n\ty.h # trailing comment\r\nz.o: y.h w.h\r\n';
    assert.deepEqual(depfilePrerequisites(text), ['x.c', 'y.h', 'w.h']);
  });

  test('empty and degenerate input', () => {
    assert.deepEqual(parseDepfile(''), { rules: [], prerequisites: [] });
    assert.deepEqual(depfilePrerequisites('\n\n  \n'), []);
    assert.deepEqual(depfilePrerequisites('x.o:\n'), []);
    assert.deepEqual(depfilePrerequisites('no separator here\n'), []);
    assert.deepEqual(depfilePrerequisites('x.o: a.h \\'), ['a.h'], 'a continuation at end of file');
  });
});
