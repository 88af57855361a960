/**
 * Running other programs: one command, or a pipeline (`clang | opt | llc`), with what they printed captured.
 *
 * Built on `node:child_process` directly. execa did this before (it is on the design card); measured on the 2-core
 * CI VM, loading execa from the bundle took 24–37 ms of every process that spawned anything (a cold compile, every
 * toolchain probe) against 4 ms for `node:child_process`, and the subset bpf-compile uses — exit status, captured
 * text, a timeout, stdin input, stdout-to-stdin pipes — is this module (docs/performance.md has the figures).
 *
 * Nothing here rejects: a program that cannot be started (ENOENT, EACCES), exits non-zero, is killed by a signal or
 * times out gives an {@link ExecResult} that says so, and the caller decides what is an error.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How to run a command. */
export interface ExecOptions {
  /** Written to the program's stdin, which is then closed. Default: stdin is `/dev/null`. */
  readonly input?: string | Uint8Array;
  /** The program's complete environment. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory. Default: this process's. */
  readonly cwd?: string;
  /** Send SIGTERM after this many ms (SIGKILL {@link KILL_GRACE_MS} later); `timedOut` says so. Default: no limit. */
  readonly timeoutMs?: number;
}

/** What one program did. */
export interface ExecResult {
  /** The command line, for messages (`file arg …`). */
  readonly command: string;
  /** Exit status, when it exited (not when killed by a signal or never started). */
  readonly exitCode: number | undefined;
  /** The signal that ended it, if one did. */
  readonly signal: NodeJS.Signals | undefined;
  /** Its stdout (UTF-8, one final newline removed); empty for a stage whose stdout fed the next one. */
  readonly stdout: string;
  /** Its stderr (UTF-8, one final newline removed). */
  readonly stderr: string;
  /** stdout and stderr as they arrived, interleaved (one final newline removed). */
  readonly all: string;
  /** Killed because `timeoutMs` passed. */
  readonly timedOut: boolean;
  /** Why it could not be started (`spawn clang ENOENT`), when it could not. */
  readonly spawnError: string | undefined;
  /** Exited with status 0 (started, not killed, not timed out). */
  readonly ok: boolean;
}

/** One program of a pipeline. */
export interface PipelineStage {
  readonly file: string;
  readonly args: readonly string[];
}

/** Time between SIGTERM and SIGKILL for a program that outlives its timeout. */
export const KILL_GRACE_MS = 2000;
/** Captured text per stream is cut at this size (a runaway program must not exhaust memory). */
export const MAX_CAPTURE_BYTES = 64 * 1024 * 1024;

function stripFinalNewline(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}

class Capture {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  add(chunk: Buffer): void {
    if (this.#bytes >= MAX_CAPTURE_BYTES) return;
    const room = MAX_CAPTURE_BYTES - this.#bytes;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(kept);
    this.#bytes += kept.length;
  }
  text(): string {
    return stripFinalNewline(Buffer.concat(this.#chunks).toString('utf8'));
  }
}

interface Running {
  /** The started child, or undefined when it could not be started at all. */
  readonly child: ChildProcess | undefined;
  /** Resolves when it has exited and its captured streams have closed. */
  readonly done: Promise<ExecResult>;
}

/** Start `stage` with the given stdin, capturing stderr (and stdout when `captureStdout`). */
function start(stage: PipelineStage, stdin: 'ignore' | 'pipe', captureStdout: boolean, opts: ExecOptions): Running {
  const command = [stage.file, ...stage.args].join(' ');
  let child: ChildProcess;
  try {
    child = spawn(stage.file, [...stage.args], {
      stdio: [stdin, 'pipe', 'pipe'],
      env: (opts.env ?? process.env) as NodeJS.ProcessEnv,
      cwd: opts.cwd,
    });
  } catch (err) {
    // invalid arguments (a NUL byte in an argument): nothing was started
    const spawnError = err instanceof Error ? err.message : String(err);
    return {
      child: undefined,
      done: Promise.resolve({ command, exitCode: undefined, signal: undefined, stdout: '', stderr: '', all: '', timedOut: false, spawnError, ok: false }),
    };
  }
  const out = new Capture();
  const errs = new Capture();
  const all = new Capture();
  if (captureStdout) {
    child.stdout?.on('data', (c: Buffer) => {
      out.add(c);
      all.add(c);
    });
  }
  child.stderr?.on('data', (c: Buffer) => {
    errs.add(c);
    all.add(c);
  });
  child.stdin?.on('error', () => undefined); // EPIPE: the program exited without reading all of its input
  const done = new Promise<ExecResult>((resolve) => {
    let timedOut = false;
    let spawnError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
            killTimer.unref();
          }, opts.timeoutMs);
    child.on('error', (err) => {
      spawnError ??= err.message;
    });
    // 'close': exited and every stdio stream ended (or, when it never started, right after 'error')
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      const exitCode = spawnError !== undefined || code === null ? undefined : code;
      resolve({
        command,
        exitCode,
        signal: signal ?? undefined,
        stdout: out.text(),
        stderr: errs.text(),
        all: all.text(),
        timedOut,
        spawnError,
        ok: exitCode === 0 && !timedOut,
      });
    });
  });
  return { child, done };
}

/** Run one program to its end. Never rejects. */
export function exec(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = start({ file, args }, opts.input === undefined ? 'ignore' : 'pipe', true, opts);
  r.child?.stdin?.end(opts.input);
  return r.done;
}

/**
 * Run `stages` as a shell pipeline: each one's stdout is the next one's stdin; the first reads `opts.input` (or
 * `/dev/null`); the last one's stdout is captured. All stages run to their end, also when one fails (the next one
 * then sees end of input), and each one's result is returned, in order. Never rejects.
 */
export function execPipeline(stages: readonly PipelineStage[], opts: ExecOptions = {}): Promise<ExecResult[]> {
  const running: Running[] = [];
  for (const [i, stage] of stages.entries()) {
    const first = i === 0;
    const r = start(stage, first && opts.input === undefined ? 'ignore' : 'pipe', i === stages.length - 1, opts);
    const stdin = r.child?.stdin;
    const upstream = running[i - 1]?.child?.stdout;
    if (first) stdin?.end(opts.input);
    else if (upstream == null)
      stdin?.end(); // the stage before could not be started: end of input
    else if (stdin == null)
      upstream.resume(); // this stage could not be started: the one before runs on, output dropped
    else {
      upstream.pipe(stdin);
      // this stage ended before reading everything: drop the rest, so the one before runs to its own end (and its
      // own exit status) instead of blocking on a full pipe
      r.child?.once('close', () => {
        upstream.unpipe(stdin);
        upstream.resume();
      });
    }
    running.push(r);
  }
  return Promise.all(running.map((r) => r.done));
}
