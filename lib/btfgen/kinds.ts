/**
 * The CO-RE relocation kinds (`enum bpf_core_relo_kind`, include/uapi/linux/bpf.h) as data: number, the name
 * libbpf prints, and the class that decides how a relocation is matched and which target types it needs.
 */

/** How a relocation kind is resolved. */
export type ReloClass = 'field' | 'type' | 'enumval';

/** One relocation kind. */
export interface ReloKind {
  /** `BPF_CORE_*` number as stored in `.BTF.ext`. */
  readonly kind: number;
  /** libbpf's name (`byte_off`, `field_exists`, …). */
  readonly name: string;
  readonly class: ReloClass;
}

/** Kind numbers by meaning. */
export const ReloKindNumber = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

/** Every kind, indexed by number. */
export const RELO_KINDS: readonly ReloKind[] = [
  { kind: 0, name: 'byte_off', class: 'field' },
  { kind: 1, name: 'byte_sz', class: 'field' },
  { kind: 2, name: 'field_exists', class: 'field' },
  { kind: 3, name: 'signed', class: 'field' },
  { kind: 4, name: 'lshift_u64', class: 'field' },
  { kind: 5, name: 'rshift_u64', class: 'field' },
  { kind: 6, name: 'local_type_id', class: 'type' },
  { kind: 7, name: 'target_type_id', class: 'type' },
  { kind: 8, name: 'type_exists', class: 'type' },
  { kind: 9, name: 'type_size', class: 'type' },
  { kind: 10, name: 'enumval_exists', class: 'enumval' },
  { kind: 11, name: 'enumval_value', class: 'enumval' },
  { kind: 12, name: 'type_matches', class: 'type' },
];

/**
 * Kinds whose unresolved outcome is a value, not a failure: `bpf_core_field_exists()`, `bpf_core_type_exists()`,
 * `bpf_core_enum_value_exists()` and friends evaluate to 0 on a kernel without the thing. Every other unresolved
 * relocation has its instruction poisoned by libbpf (the program fails to load if the instruction is reachable).
 */
export const RESOLVES_TO_ZERO: ReadonlySet<number> = new Set([
  ReloKindNumber.FIELD_EXISTS,
  ReloKindNumber.TYPE_EXISTS,
  ReloKindNumber.TYPE_MATCHES,
  ReloKindNumber.TYPE_SIZE,
  ReloKindNumber.TYPE_ID_TARGET,
  ReloKindNumber.ENUMVAL_EXISTS,
]);
