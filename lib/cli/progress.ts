/** A progress event: `done` of `total` units (bytes), `total` unknown when undefined. */
export interface ProgressEvent {
  readonly done: number;
  readonly total: number | undefined;
}

/** What a progress bar writes to. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

const MiB = 1024 * 1024;

/**
 * A one-line progress bar on a terminal (`label [#####-----] 12.3/30.1 MiB`), redrawn at most every 100 ms.
 * Silent when the stream is not a TTY or when `quiet`; `finish()` clears the line.
 */
export function progressBar(label: string, stream: ProgressStream, quiet = false): { update(e: ProgressEvent): void; finish(): void } {
  const active = !quiet && stream.isTTY === true;
  let last = 0;
  let drawn = false;
  return {
    update(e: ProgressEvent): void {
      if (!active) return;
      const now = Date.now();
      if (now - last < 100 && (e.total === undefined || e.done < e.total)) return;
      last = now;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30));
      const frac = e.total === undefined || e.total === 0 ? 0 : Math.min(1, e.done / e.total);
      const filled = Math.round(frac * width);
      const amount = e.total === undefined ? `${(e.done / MiB).toFixed(1)} MiB` : `${(e.done / MiB).toFixed(1)}/${(e.total / MiB).toFixed(1)} MiB`;
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${amount}`);
      drawn = true;
    },
    finish(): void {
      if (active && drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
