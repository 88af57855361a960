/**
 * The BTF type model: one interface per kind, joined in the discriminated union {@link BtfType}
 * (switch on `kind`). Objects of this model are what the public API hands out; the parser and the
 * C dumper work on compact typed arrays underneath (see `table.ts`) and build these objects lazily.
 *
 * Facts from the kernel's Documentation/bpf/btf.rst: type id 0 is `void`; ids count from 1 in the
 * order the records appear; a split BTF (a kernel module) continues the ids and string offsets of
 * its base.
 */

/** Kind names, as used in `BtfType.kind`. */
export type BtfKindName =
  | 'void'
  | 'int'
  | 'ptr'
  | 'array'
  | 'struct'
  | 'union'
  | 'enum'
  | 'fwd'
  | 'typedef'
  | 'volatile'
  | 'const'
  | 'restrict'
  | 'func'
  | 'func_proto'
  | 'var'
  | 'datasec'
  | 'float'
  | 'decl_tag'
  | 'type_tag'
  | 'enum64';

/** Numeric BTF kinds (`info` bits 24–28). */
export const BtfKind = {
  VOID: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** A numeric BTF kind. */
export type BtfKindNumber = (typeof BtfKind)[keyof typeof BtfKind];

/** The highest kind this parser knows. Anything above is rejected as BTF_INVALID. */
export const MAX_KIND = 19;

/** How a kind's record is laid out after the common 12-byte `btf_type` header. */
export interface KindLayout {
  /** Name used in the type model. */
  readonly name: BtfKindName;
  /** Bytes that always follow the common header (INT's encoding word, ARRAY's `btf_array`, …). */
  readonly fixed: number;
  /** Bytes per `vlen` entry (members, enumerators, params, secinfos); 0 when vlen must be ignored. */
  readonly perVlen: number;
  /** Whether the third header word is a type id (else a size or unused). */
  readonly refersType: boolean;
}

/** The kind table, indexed by kind number. Every layout question asks this table. */
export const KIND_LAYOUTS: readonly KindLayout[] = [
  { name: 'void', fixed: 0, perVlen: 0, refersType: false },
  { name: 'int', fixed: 4, perVlen: 0, refersType: false },
  { name: 'ptr', fixed: 0, perVlen: 0, refersType: true },
  { name: 'array', fixed: 12, perVlen: 0, refersType: false },
  { name: 'struct', fixed: 0, perVlen: 12, refersType: false },
  { name: 'union', fixed: 0, perVlen: 12, refersType: false },
  { name: 'enum', fixed: 0, perVlen: 8, refersType: false },
  { name: 'fwd', fixed: 0, perVlen: 0, refersType: false },
  { name: 'typedef', fixed: 0, perVlen: 0, refersType: true },
  { name: 'volatile', fixed: 0, perVlen: 0, refersType: true },
  { name: 'const', fixed: 0, perVlen: 0, refersType: true },
  { name: 'restrict', fixed: 0, perVlen: 0, refersType: true },
  { name: 'func', fixed: 0, perVlen: 0, refersType: true },
  { name: 'func_proto', fixed: 0, perVlen: 8, refersType: true },
  { name: 'var', fixed: 4, perVlen: 0, refersType: true },
  { name: 'datasec', fixed: 0, perVlen: 12, refersType: false },
  { name: 'float', fixed: 0, perVlen: 0, refersType: false },
  { name: 'decl_tag', fixed: 4, perVlen: 0, refersType: true },
  { name: 'type_tag', fixed: 0, perVlen: 0, refersType: true },
  { name: 'enum64', fixed: 0, perVlen: 12, refersType: false },
];

/** Byte order of a BTF blob. */
export type ByteOrder = 'little' | 'big';

/** The decoded `struct btf_header`. Section offsets are relative to the end of the header. */
export interface BtfHeader {
  readonly version: number;
  readonly flags: number;
  /** Header length as declared (≥ 24; longer headers are tolerated). */
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
  readonly byteOrder: ByteOrder;
}

/** Fields every type has. */
interface BtfTypeBase {
  /** Type id (0 only for void). */
  readonly id: number;
  /** Name; `''` when anonymous. */
  readonly name: string;
}

/** `void` (type id 0). */
export interface BtfVoid extends BtfTypeBase {
  readonly kind: 'void';
}

/** An integer (also `char` and `_Bool`). */
export interface BtfInt extends BtfTypeBase {
  readonly kind: 'int';
  /** Storage size in bytes. */
  readonly size: number;
  /** Signed integer (`BTF_INT_SIGNED`). */
  readonly signed: boolean;
  /** Character type (`BTF_INT_CHAR`). */
  readonly char: boolean;
  /** Boolean type (`BTF_INT_BOOL`). */
  readonly bool: boolean;
  /** Bit offset of the value inside its storage (normally 0). */
  readonly bitOffset: number;
  /** Number of value bits. */
  readonly bits: number;
}

/** Pointer to `type`. */
export interface BtfPtr extends BtfTypeBase {
  readonly kind: 'ptr';
  /** Pointee type id. */
  readonly type: number;
}

/** Array of `nelems` elements of `type`. */
export interface BtfArray extends BtfTypeBase {
  readonly kind: 'array';
  /** Element type id. */
  readonly type: number;
  /** Index type id (an int). */
  readonly indexType: number;
  /** Element count. */
  readonly nelems: number;
}

/** One member of a struct or union. */
export interface BtfMember {
  /** Member name; `''` for an anonymous (embedded) struct/union. */
  readonly name: string;
  /** Member type id. */
  readonly type: number;
  /** Offset from the start of the containing struct, in bits. */
  readonly bitOffset: number;
  /** Bitfield width in bits; 0 when not a bitfield. */
  readonly bitfieldSize: number;
}

/** A struct or union. */
export interface BtfComposite extends BtfTypeBase {
  readonly kind: 'struct' | 'union';
  /** Size in bytes. */
  readonly size: number;
  /** Members in declaration order. */
  readonly members: readonly BtfMember[];
}

/** An enumerator. `value` is a number for ENUM, a bigint for ENUM64. */
export interface BtfEnumValue<V extends number | bigint> {
  readonly name: string;
  readonly value: V;
}

/** A 32-bit-valued enum (kind ENUM). */
export interface BtfEnum extends BtfTypeBase {
  readonly kind: 'enum';
  /** Size in bytes (1, 2, 4 or 8). */
  readonly size: number;
  /** Values are signed (kind_flag). */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue<number>[];
}

/** A 64-bit-valued enum (kind ENUM64). */
export interface BtfEnum64 extends BtfTypeBase {
  readonly kind: 'enum64';
  /** Size in bytes. */
  readonly size: number;
  /** Values are signed (kind_flag). */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue<bigint>[];
}

/** A forward declaration of a struct or union. */
export interface BtfFwd extends BtfTypeBase {
  readonly kind: 'fwd';
  /** What it forward-declares (kind_flag: 1 = union). */
  readonly fwdKind: 'struct' | 'union';
}

/** `typedef`, `volatile`, `const`, `restrict`: a name or qualifier on `type`. */
export interface BtfRef extends BtfTypeBase {
  readonly kind: 'typedef' | 'volatile' | 'const' | 'restrict';
  /** Referenced type id. */
  readonly type: number;
}

/** A type tag (`__attribute__((btf_type_tag("name")))`) on `type`. */
export interface BtfTypeTag extends BtfTypeBase {
  readonly kind: 'type_tag';
  /** Referenced type id. */
  readonly type: number;
  /** kind_flag set: the tag is a plain attribute (`__attribute__((name))`), not `btf_type_tag`. */
  readonly attribute: boolean;
}

/** Function linkage of FUNC and VAR. */
export type BtfLinkage = 'static' | 'global' | 'extern';

/** A function; `type` is its FUNC_PROTO. */
export interface BtfFunc extends BtfTypeBase {
  readonly kind: 'func';
  /** The FUNC_PROTO type id. */
  readonly type: number;
  /** Linkage (vlen of the record). */
  readonly linkage: BtfLinkage | number;
}

/** A function parameter. */
export interface BtfParam {
  /** Parameter name, often `''`. */
  readonly name: string;
  /** Type id; 0 on the last parameter means `...`. */
  readonly type: number;
}

/** A function prototype. */
export interface BtfFuncProto extends BtfTypeBase {
  readonly kind: 'func_proto';
  /** Return type id (0 = void). */
  readonly returnType: number;
  readonly params: readonly BtfParam[];
}

/** A variable. */
export interface BtfVar extends BtfTypeBase {
  readonly kind: 'var';
  readonly type: number;
  readonly linkage: BtfLinkage | number;
}

/** One variable of a DATASEC. */
export interface BtfVarSecinfo {
  /** VAR (or FUNC) type id. */
  readonly type: number;
  /** Byte offset in the section. */
  readonly offset: number;
  /** Byte size. */
  readonly size: number;
}

/** A data section (`.data`, `.bss`, `.ksyms`, …). */
export interface BtfDatasec extends BtfTypeBase {
  readonly kind: 'datasec';
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

/** A floating-point type. */
export interface BtfFloat extends BtfTypeBase {
  readonly kind: 'float';
  readonly size: number;
}

/** A declaration tag on a type, or on one of its members/params (`componentIdx` ≥ 0). */
export interface BtfDeclTag extends BtfTypeBase {
  readonly kind: 'decl_tag';
  /** The tagged type id. */
  readonly type: number;
  /** Member/param index, or -1 for the type itself. */
  readonly componentIdx: number;
  /** kind_flag set: the tag is a plain attribute. */
  readonly attribute: boolean;
}

/** Any BTF type. Switch on `kind`. */
export type BtfType =
  BtfVoid | BtfInt | BtfPtr | BtfArray | BtfComposite | BtfEnum | BtfEnum64 | BtfFwd | BtfRef | BtfTypeTag | BtfFunc | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag;

/** Linkage numbers (`BTF_FUNC_*`, `BTF_VAR_*`) to names. */
export const LINKAGES: readonly BtfLinkage[] = ['static', 'global', 'extern'];
