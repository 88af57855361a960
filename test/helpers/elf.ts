/** Minimal ELF64 reader for tests: machine and section names. */
export function elfInfo(buf: Buffer): { machine: number; littleEndian: boolean; sections: string[] } {
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 2) throw new Error('not ELF64');
  const le = buf[5] === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number): number => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const shoff = u64(0x28);
  const shentsize = u16(0x3a);
  const shnum = u16(0x3c);
  const shstrndx = u16(0x3e);
  const strOff = u64(shoff + shstrndx * shentsize + 0x18);
  const sections: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const nameOff = u32(shoff + i * shentsize);
    const end = buf.indexOf(0, strOff + nameOff);
    sections.push(buf.toString('utf8', strOff + nameOff, end));
  }
  return { machine: u16(0x12), littleEndian: le, sections };
}

/** ELF e_machine of BPF objects. */
export const EM_BPF = 247;
