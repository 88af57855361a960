import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isBpfCompileError, ErrorCode } from '../../lib/errors.js';
import { dumpCHeader, dumpCHeaderBytes, parseBtf, parseBtfFromElf, type Btf } from '../../lib/btf/index.js';
import { BtfBuilder, compileC, findClang } from '../helpers/btf-builder.js';

/** The type definitions of a dump, without the fixed prelude and epilogue. */
function body(b: BtfBuilder | Btf, opts: { kfuncs?: boolean } = {}): string {
  const btf = b instanceof BtfBuilder ? parseBtf(b.build()) : b;
  const h = dumpCHeader(btf, { kfuncs: opts.kfuncs ?? false });
  const from = h.indexOf('#endif\n\n') + 8;
  return h.slice(opts.kfuncs === true ? h.indexOf('#endif\n#endif\n\n') + 15 : from, h.lastIndexOf('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX'));
}

/**
 * `_Static_assert`s pinning the layout BTF describes: sizeof of every uniquely named struct/union and
 * offsetof of every non-bitfield member (anonymous members flattened).
 */
function layoutAsserts(btf: Btf, only?: ReadonlySet<string>): string {
  const out: string[] = [];
  const seen = new Map<string, number>();
  for (const t of btf.types) if ((t.kind === 'struct' || t.kind === 'union') && t.name !== '') seen.set(`${t.kind} ${t.name}`, (seen.get(`${t.kind} ${t.name}`) ?? 0) + 1);
  for (const t of btf.types) {
    if ((t.kind !== 'struct' && t.kind !== 'union') || t.name === '') continue;
    const tag = `${t.kind} ${t.name}`;
    if (seen.get(tag) !== 1 || (only !== undefined && !only.has(t.name))) continue;
    out.push(`_Static_assert(sizeof(${tag}) == ${t.size}, "sizeof ${tag}");`);
    for (const m of btf.walkMembers(t.id)) {
      if (m.bitfieldSize !== 0 || m.name === '') continue;
      out.push(`_Static_assert(__builtin_offsetof(${tag}, ${m.path}) == ${m.byteOffset}, "${tag}.${m.path}");`);
    }
  }
  return out.join('\n');
}

function mustCompile(t: { skip: (m: string) => void }, header: string, tu: string): boolean {
  const clang = findClang();
  if (clang === undefined) {
    t.skip('clang not installed');
    return false;
  }
  const r = compileC(clang, `#include "vmlinux.h"\n${tu}\n`, { 'vmlinux.h': header });
  assert.ok(r.ok, `clang rejected the header:\n${r.stderr.slice(0, 4000)}`);
  return true;
}

function layoutCase(): BtfBuilder {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const ch = b.int('char', 1, { signed: true, char: true });
  const i32 = b.int('int', 4, { signed: true });
  const u64 = b.int('long long unsigned int', 8);
  const long = b.int('long int', 8, { signed: true });
  b.struct('bf', 16, [
    { name: 'a', type: u32, bitOffset: 0, bitfieldSize: 3 },
    { name: 'b', type: u32, bitOffset: 3, bitfieldSize: 5 },
    { name: 'c', type: u32, bitOffset: 16, bitfieldSize: 4 },
    { name: 'd', type: i32, bitOffset: 32 },
    { name: 'e', type: u64, bitOffset: 64, bitfieldSize: 40 },
  ]);
  b.struct('pk', 15, [
    { name: 'a', type: ch, bitOffset: 0 },
    { name: 'b', type: i32, bitOffset: 8 },
    { name: 'c', type: long, bitOffset: 56 },
  ]);
  b.struct('gap', 32, [
    { name: 'a', type: ch, bitOffset: 0 },
    { name: 'b', type: i32, bitOffset: 64 },
    { name: 'c', type: ch, bitOffset: 192 },
  ]);
  b.struct('empty', 0, []);
  return b;
}

test('bitfields, explicit padding, packed and empty structs: exact C, and clang agrees on the layout', (t) => {
  const b = layoutCase();
  assert.equal(
    body(b),
    `struct bf {
	unsigned int a: 3;
	unsigned int b: 5;
	short: 8;
	unsigned int c: 4;
	int d;
	long long unsigned int e: 40;
};

struct pk {
	char a;
	int b;
	short: 0;
	char: 8;
	long int c;
} __attribute__((packed));

struct gap {
	char a;
	long: 0;
	int b;
	long: 64;
	char c;
	long: 0;
};

struct empty {};

`,
  );
  const btf = parseBtf(b.build());
  mustCompile(t, dumpCHeader(btf), layoutAsserts(btf));
});

function declCase(): BtfBuilder {
  const b = new BtfBuilder();
  const i32 = b.int('int', 4, { signed: true });
  const ch = b.int('char', 1, { signed: true, char: true });
  const inner = b.struct('', 8, [
    { name: 'lo', type: i32, bitOffset: 0 },
    { name: 'hi', type: i32, bitOffset: 32 },
  ]);
  const un = b.union('', 8, [
    { type: inner, bitOffset: 0 },
    { name: 'raw', type: b.int('long long int', 8, { signed: true }), bitOffset: 0 },
  ]);
  const en = b.enum('', [
    ['MODE_A', 0],
    ['MODE_B', 1],
  ]);
  b.struct('outer', 24, [
    { name: 'x', type: i32, bitOffset: 0 },
    { type: un, bitOffset: 64 },
    { name: 'mode', type: en, bitOffset: 128 },
  ]);
  const cc = b.const(ch);
  const pcc = b.ptr(cc);
  const ppc = b.ptr(b.const(pcc));
  const vpvi = b.volatile(b.ptr(b.volatile(i32)));
  const voidp = b.ptr(0);
  const pcvoid = b.ptr(b.const(0));
  const cmp = b.funcProto(i32, [{ type: pcvoid }, { type: pcvoid }]);
  const cmpp = b.ptr(cmp);
  const cmpt = b.typedef('cmp_fn', cmpp);
  const varg = b.funcProto(0, [{ name: 'fmt', type: pcc }, { type: 0 }]);
  const getter = b.funcProto(b.ptr(b.array(i32, 3)), []);
  b.struct('ops', 72, [
    { name: 'cmps', type: b.array(cmpt, 4), bitOffset: 0 },
    { name: 'raw', type: b.array(cmpp, 2), bitOffset: 256 },
    { name: 'log', type: b.ptr(varg), bitOffset: 384 },
    { name: 'getter', type: b.ptr(getter), bitOffset: 448 },
    { name: 'names', type: ppc, bitOffset: 512 },
  ]);
  b.struct('cv', 16, [
    { name: 'vp', type: vpvi, bitOffset: 0 },
    { name: 'v', type: voidp, bitOffset: 64 },
  ]);
  b.typedef('cube_t', b.array(b.array(b.array(i32, 4), 3), 2));
  return b;
}

test('anonymous nested types inline; function pointers, arrays of them, multi-dim arrays, const/volatile placement', (t) => {
  const b = declCase();
  assert.equal(
    body(b),
    `struct outer {
	int x;
	union {
		struct {
			int lo;
			int hi;
		};
		long long int raw;
	};
	enum {
		MODE_A = 0,
		MODE_B = 1,
	} mode;
};

typedef int (*cmp_fn)(const void *, const void *);

struct ops {
	cmp_fn cmps[4];
	int (*raw[2])(const void *, const void *);
	void (*log)(const char *fmt, ...);
	int (* (*getter)(void))[3];
	const char * const *names;
};

struct cv {
	volatile int * volatile vp;
	void *v;
};

typedef int cube_t[2][3][4];

`,
  );
  const btf = parseBtf(b.build());
  mustCompile(
    t,
    dumpCHeader(btf),
    `${layoutAsserts(btf)}
_Static_assert(sizeof(cube_t) == 96, "cube");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct ops *)0)->names), const char * const *), "names");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct cv *)0)->vp), volatile int * volatile), "vp");
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct ops *)0)->getter), int (*(*)(void))[3]), "getter");
int use(struct outer *o) { return o->lo + o->hi + (int)o->raw + o->mode; }`,
  );
});

test('cycles through pointers get forward declarations only where needed', (t) => {
  const b = new BtfBuilder();
  // struct a { struct b b; }  struct b { struct a *a; struct c emb; }  struct c { struct b *back; }
  const a = b.struct('a', 16, [{ name: 'b', type: 3, bitOffset: 0 }]);
  const pa = b.ptr(a);
  const sb = b.struct('b', 16, [
    { name: 'a', type: pa, bitOffset: 0 },
    { name: 'emb', type: 5, bitOffset: 64 },
  ]);
  const pb = b.ptr(sb);
  b.struct('c', 8, [{ name: 'back', type: pb, bitOffset: 0 }]);
  b.struct('list', 16, [
    { name: 'next', type: 7, bitOffset: 0 },
    { name: 'prev', type: 7, bitOffset: 64 },
  ]);
  b.ptr(6);
  assert.equal(
    body(b),
    `struct b;

struct c {
	struct b *back;
};

struct a;

struct b {
	struct a *a;
	struct c emb;
};

struct a {
	struct b b;
};

struct list {
	struct list *next;
	struct list *prev;
};

`,
  );
  const btf = parseBtf(b.build());
  mustCompile(t, dumpCHeader(btf), layoutAsserts(btf));
});

test('a struct containing itself by value cannot be written: BTF_INVALID', () => {
  const b = new BtfBuilder();
  b.struct('loop', 8, [{ name: 'self', type: 1, bitOffset: 0 }]);
  assert.throws(
    () => dumpCHeader(parseBtf(b.build())),
    (e: unknown) => isBpfCompileError(e, ErrorCode.BTF_INVALID),
  );
});

test('duplicate names get ___N like bpftool; enumerators share the typedef namespace; fwd never renamed', (t) => {
  const b = new BtfBuilder();
  const i32 = b.int('int', 4, { signed: true });
  b.struct('dup', 4, [{ name: 'x', type: i32, bitOffset: 0 }]);
  const d2 = b.struct('dup', 8, [{ name: 'y', type: b.int('long int', 8, { signed: true }), bitOffset: 0 }]);
  b.fwd('dup');
  b.enum('', [['MODE_A', 0]]);
  b.typedef('MODE_A', i32);
  b.struct('user', 8, [{ name: 'd', type: d2, bitOffset: 0 }]);
  assert.equal(
    body(b),
    `struct dup {
	int x;
};

struct dup___2 {
	long int y;
};

struct dup;

enum {
	MODE_A = 0,
};

typedef int MODE_A___2;

struct user {
	struct dup___2 d;
};

`,
  );
  const btf = parseBtf(b.build());
  mustCompile(t, dumpCHeader(btf), '_Static_assert(sizeof(struct dup___2) == 8, "d2"); _Static_assert(MODE_A == 0, "e");');
});

test('enum signedness, 64-bit values, ENUM64 with LL/ULL, size attributes', (t) => {
  const b = new BtfBuilder();
  b.enum(
    'sgn',
    [
      ['NEG', -5],
      ['POS', 7],
    ],
    { signed: true },
  );
  b.enum('uns', [['BIGU', 0xffffffff]]);
  b.enum64('e64', [
    ['H', 0x100000000n],
    ['L', 1n],
  ]);
  b.enum64(
    's64',
    [
      ['MINUS', -(1n << 40n)],
      ['ONE', 1n],
    ],
    { signed: true },
  );
  b.enum64('e64w', [['W', 1n]]);
  b.enum(
    'tiny',
    [
      ['T0', 0],
      ['T1', 255],
    ],
    { size: 1 },
  );
  b.enum('', []);
  assert.equal(
    body(b),
    `enum sgn {
	NEG = -5,
	POS = 7,
};

enum uns {
	BIGU = 4294967295,
};

enum e64 {
	H = 4294967296ULL,
	L = 1ULL,
};

enum s64 {
	MINUS = -1099511627776LL,
	ONE = 1LL,
};

enum e64w {
	W = 1ULL,
} __attribute__((mode(word)));

enum tiny {
	T0 = 0,
	T1 = 255,
} __attribute__((mode(byte)));

enum;

`,
  );
  // the empty anonymous enum is not C; drop it for the compile check
  const c = new BtfBuilder();
  c.enum(
    'sgn',
    [
      ['NEG', -5],
      ['POS', 7],
    ],
    { signed: true },
  );
  c.enum64('e64', [
    ['H', 0x100000000n],
    ['L', 1n],
  ]);
  c.enum64('e64w', [['W', 1n]]);
  c.enum(
    'tiny',
    [
      ['T0', 0],
      ['T1', 255],
    ],
    { size: 1 },
  );
  mustCompile(
    t,
    dumpCHeader(parseBtf(c.build())),
    '_Static_assert(sizeof(enum e64) == 8, "e64"); _Static_assert(sizeof(enum e64w) == 8, "w"); _Static_assert(sizeof(enum tiny) == 1, "t"); _Static_assert(NEG < 0, "neg"); _Static_assert(H == 0x100000000ULL, "h");',
  );
});

test('type tags become btf_type_tag attributes; kind_flag tags plain attributes', (t) => {
  const b = new BtfBuilder();
  const i32 = b.int('int', 4, { signed: true });
  const tag = b.typeTag('user', i32);
  const rcu = b.typeTag('rcu', b.ptr(tag));
  b.struct('tagged', 16, [
    { name: 'up', type: b.ptr(tag), bitOffset: 0 },
    { name: 'rp', type: b.ptr(b.typeTag('noderef', i32, true)), bitOffset: 64 },
  ]);
  b.typedef('rcu_ptr_t', rcu);
  assert.equal(
    body(b),
    `struct tagged {
	int __attribute__((btf_type_tag("user"))) *up;
	int __attribute__((noderef)) *rp;
};

typedef int __attribute__((btf_type_tag("user"))) * __attribute__((btf_type_tag("rcu"))) rcu_ptr_t;

`,
  );
  // clang 14 knows btf_type_tag; the kind_flag form needs an attribute clang accepts on types
  const c = new BtfBuilder();
  const ci = c.int('int', 4, { signed: true });
  c.struct('tagged', 8, [{ name: 'up', type: c.ptr(c.typeTag('user', ci)), bitOffset: 0 }]);
  mustCompile(t, dumpCHeader(parseBtf(c.build())), 'int get(struct tagged *t) { return *t->up; }');
});

function kfuncCase(): BtfBuilder {
  const b = new BtfBuilder();
  const i32 = b.int('int', 4, { signed: true });
  const task = b.struct('task_struct', 8, [{ name: 'pid', type: i32, bitOffset: 0 }]);
  const pt = b.ptr(task);
  const p1 = b.funcProto(pt, [{ name: 'pid', type: i32 }]);
  const p2 = b.funcProto(0, [{ name: 'p', type: pt }]);
  const acquire = b.func('bpf_task_from_pid', p1);
  const release = b.func('bpf_task_release', p2);
  const plain = b.func('not_a_kfunc', p2);
  const fast = b.func('bpf_fast_thing', b.funcProto(i32, []));
  b.declTag('bpf_kfunc', release);
  b.declTag('bpf_kfunc', acquire);
  b.declTag('bpf_kfunc', fast);
  b.declTag('bpf_fastcall', fast);
  b.declTag('bpf_kfunc', plain, 0); // a parameter tag, not the function
  b.declTag('other', plain);
  return b;
}

test('kfuncs: extern … __weak __ksym prototypes, sorted, under BPF_NO_KFUNC_PROTOTYPES', (t) => {
  const btf = parseBtf(kfuncCase().build());
  const h = dumpCHeader(btf);
  assert.ok(h.includes('#ifndef __ksym\n#define __ksym __attribute__((section(".ksyms")))\n#endif\n'));
  assert.ok(h.includes('#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n'));
  const block = h.slice(h.indexOf('/* BPF kfuncs */'), h.lastIndexOf('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX'));
  assert.equal(
    block,
    `/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
extern __bpf_fastcall int bpf_fast_thing(void) __weak __ksym;
extern struct task_struct *bpf_task_from_pid(int pid) __weak __ksym;
extern void bpf_task_release(struct task_struct *p) __weak __ksym;
#endif

`,
  );
  assert.ok(!dumpCHeader(btf, { kfuncs: false }).includes('__ksym'));
  mustCompile(t, h, 'int f(void) { struct task_struct *p = bpf_task_from_pid(1); if (p) bpf_task_release(p); return 0; }');
});

test('split (module) BTF: only the module types are appended; clashing names get ___N', (t) => {
  const base = new BtfBuilder();
  const i32 = base.int('int', 4, { signed: true });
  const skb = base.struct('sk_buff', 4, [{ name: 'len', type: i32, bitOffset: 0 }]);
  base.struct('clash', 4, [{ name: 'a', type: i32, bitOffset: 0 }]);
  const baseBtf = parseBtf(base.build());
  const mod = new BtfBuilder(base);
  const conn = mod.struct('nf_conn', 16, [
    { name: 'skb', type: mod.ptr(skb), bitOffset: 0 },
    { name: 'mark', type: i32, bitOffset: 64 },
  ]);
  mod.struct('clash', 8, [{ name: 'b', type: mod.int('long int', 8, { signed: true }), bitOffset: 0 }]);
  mod.func('bpf_ct_lookup', mod.funcProto(mod.ptr(conn), [{ name: 'skb', type: mod.ptr(skb) }]));
  mod.declTag('bpf_kfunc', mod.count - 1);
  const modBtf = parseBtf(mod.build(), { base: baseBtf });
  const h = dumpCHeader(baseBtf, { modules: [modBtf] });
  assert.equal(
    h.slice(h.indexOf('struct sk_buff {'), h.indexOf('\n/* BPF kfuncs */')),
    `struct sk_buff {
	int len;
};

struct clash {
	int a;
};

struct nf_conn {
	struct sk_buff *skb;
	int mark;
};

struct clash___2 {
	long int b;
};

`,
  );
  assert.ok(h.includes('extern struct nf_conn *bpf_ct_lookup(struct sk_buff *skb) __weak __ksym;'));
  assert.throws(
    () => dumpCHeader(parseBtf(mod.build(), { base: parseBtf(base.build()) }).base!, { modules: [modBtf] }),
    (e: unknown) => isBpfCompileError(e, ErrorCode.USAGE),
  );
  mustCompile(t, h, '_Static_assert(sizeof(struct clash___2) == 8, "c"); _Static_assert(__builtin_offsetof(struct nf_conn, mark) == 8, "m");');
});

test('output is deterministic and identical for both byte orders', () => {
  const b = declCase();
  const one = dumpCHeader(parseBtf(b.build()));
  assert.equal(dumpCHeader(parseBtf(b.build())), one);
  assert.equal(dumpCHeader(parseBtf(b.build({ endian: 'big' }))), one);
  assert.ok(
    one.startsWith(
      '#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n',
    ),
  );
  assert.ok(one.endsWith('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n'));
  assert.ok(dumpCHeader(parseBtf(b.build()), { guard: '__MY_H__' }).startsWith('#ifndef __MY_H__\n#define __MY_H__\n'));
});

test('dumpCHeaderBytes: the UTF-8 bytes of dumpCHeader, also when a name is not valid UTF-8', () => {
  const b = declCase();
  const btf = parseBtf(b.build());
  assert.deepEqual(Buffer.from(dumpCHeaderBytes(btf)), Buffer.from(dumpCHeader(btf), 'utf8'));
  // a struct named "zq\u00e9" whose name bytes are then made invalid UTF-8 (a lone 0xff for "z")
  const nb = new BtfBuilder();
  const int = nb.int('int', 4, { signed: true });
  nb.struct('zqé', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
  const raw = Buffer.from(nb.build());
  const at = raw.indexOf(Buffer.from('zqé\0', 'utf8'));
  assert.ok(at > 0);
  raw[at] = 0xff;
  const bad = parseBtf(raw);
  const text = dumpCHeader(bad);
  assert.ok(text.includes('struct \ufffdqé {'), 'the string decodes the bad byte to U+FFFD');
  assert.deepEqual(Buffer.from(dumpCHeaderBytes(bad)), Buffer.from(text, 'utf8'), 'and the bytes are those of the string');
});

test('rootIds dumps only the requested types and their dependencies', () => {
  const b = declCase();
  const btf = parseBtf(b.build());
  const ops = btf.findByName('ops', 'struct')!.id;
  const h = dumpCHeader(btf, { rootIds: [ops] });
  assert.ok(h.includes('typedef int (*cmp_fn)'));
  assert.ok(h.includes('struct ops {'));
  assert.ok(!h.includes('struct outer'));
  assert.ok(!h.includes('__ksym'));
});

const ROUNDTRIP_C = String.raw`struct bits { unsigned a:3, b:5; unsigned char c; unsigned long long d:40; short e:7; int f; };
struct __attribute__((packed)) pk { char a; int b; short c; long d; };
struct al { char a; int b __attribute__((aligned(16))); char c; };
struct outer { int x; union { struct { short lo, hi; }; int raw; }; struct { char tag; } named_anon; char tail[3]; };
typedef int (*cmp_fn)(const void *, const void *);
struct ops { cmp_fn cmps[4]; void (*cb)(int, ...); int (*(*getter)(void))[3]; const char * const *names; volatile int * volatile vp; };
struct mat { int m[2][3][4]; char *pa[5]; int (*pm)[7]; };
struct item;
struct list { struct list *next, *prev; struct item *first; };
struct item { struct list link; struct item *self; };
enum __attribute__((packed)) small { S_A = -1, S_B = 1 };
enum big64 { B_X = 0x1ffffffffULL, B_Y = 3 };
struct uses_enums { enum small s; char c; enum big64 b; char d; };
struct empty {};
struct with_empty { int a; struct empty e; int b; };
struct tail_pad { long a; char b; };
struct packed_in { char c; struct pk p; };
union un { char c[5]; int i; };
struct tricky_pad { char a; long b:3; char c; int d:5; };
typedef struct { int q; } anon_t;
struct __attribute__((packed)) pk2 { char a; struct al inner; short s; };
struct big_al { char c; } __attribute__((aligned(64)));
struct holds_big_al { int x; struct big_al y; int z; };
struct nested_bits { struct { unsigned x:1; unsigned y:31; } f; unsigned long long z:3; unsigned long long w:61; };
struct bits g1; struct pk g2; struct al g3; struct outer g4; struct ops g5; struct mat g6; struct item g7;
struct uses_enums g8; struct with_empty g9; struct tail_pad g10; struct packed_in g11; union un g12;
struct tricky_pad g13; anon_t g14; struct pk2 g15; struct holds_big_al g16; struct nested_bits g17;
`;

test('round trip: C → clang -g BTF → our header → clang agrees on every size and offset', (t) => {
  const clang = findClang();
  if (clang === undefined) return t.skip('clang not installed');
  const dir = mkdtempSync(path.join(tmpdir(), 'btf-rt-'));
  try {
    const obj = path.join(dir, 'rt.o');
    const r = compileC(clang, ROUNDTRIP_C, {}, ['-g'], obj);
    assert.ok(r.ok, r.stderr);
    const btf = parseBtfFromElf(readFileSync(obj));
    const header = dumpCHeader(btf);
    for (const needle of [
      '} __attribute__((packed));',
      'enum small {',
      ' __attribute__((mode(byte)));',
      'int (* (*getter)(void))[3];',
      'struct {\n\t\tchar tag;\n\t} named_anon;',
    ]) {
      assert.ok(header.includes(needle), `header lacks ${JSON.stringify(needle)}`);
    }
    const asserts = layoutAsserts(btf);
    assert.ok(asserts.split('\n').length > 60, 'too few layout assertions');
    mustCompile(t, header, `${asserts}\n_Static_assert(sizeof(anon_t) == 4, "anon_t");\n_Static_assert(sizeof(enum small) == 1, "small");`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
