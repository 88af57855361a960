/** Minimal typings for the parts of lzma-native 8 that bpf-compile uses (the package ships none). */
declare module 'lzma-native' {
  import type { Transform } from 'node:stream';

  /** Options of lzma-native's coder streams. */
  export interface LzmaStreamOptions {
    /** Decoder memory limit in bytes. */
    memlimit?: number;
    /** Run liblzma on the calling thread instead of a native worker thread. */
    synchronous?: boolean;
    /** Output buffer size in bytes (default 64 KiB). */
    bufsize?: number;
    /** liblzma flags (`LZMA_CONCATENATED`, …). */
    flags?: number;
  }

  interface LzmaNative {
    /** `coder` is a liblzma coder name (`streamDecoder` accepts only the .xz format). */
    createStream(coder: 'streamDecoder' | 'autoDecoder', options?: LzmaStreamOptions): Transform;
  }

  const lzma: LzmaNative;
  export default lzma;
}
