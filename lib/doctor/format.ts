/** Human-readable doctor report. */
import type { DoctorReport, ToolReport } from './types.js';

function tool(t: ToolReport): string {
  if (t.path === undefined) return `  ${t.name.padEnd(11)} not found`;
  return `  ${t.name.padEnd(11)} ${t.path}  ${t.version ?? (t.major === undefined ? 'version unknown' : `LLVM ${t.major}`)}`;
}

const mark = (ok: boolean): string => (ok ? 'ok' : 'MISSING');

/** The report as text, one section per concern, ending with the verdict and next steps. */
export function formatDoctorReport(r: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`target: ${r.target.release} (${r.target.arch})${r.target.running ? ', the running kernel' : ''}${r.target.root === '/' ? '' : `, root ${r.target.root}`}`);
  lines.push('', `toolchain: ${r.toolchain.clangOk && r.toolchain.backendOk ? 'ok' : r.toolchain.clangOk ? 'clang only' : 'MISSING'}`);
  for (const t of r.toolchain.tools) lines.push(tool(t));
  lines.push(`  one LLVM major: ${r.toolchain.agree ? `yes${r.toolchain.majors.length === 1 ? ` (${r.toolchain.majors[0]})` : ''}` : `no (${r.toolchain.majors.join(', ')})`}`);
  if (r.toolchain.error !== undefined) lines.push(`  problem: ${r.toolchain.error}`);
  lines.push('', `libbpf headers: ${mark(r.libbpf.ok)}${r.libbpf.dir === undefined ? '' : ` (${r.libbpf.dir}/bpf)`}`);
  if (r.libbpf.error !== undefined) lines.push(`  ${r.libbpf.error}`);
  lines.push('', `header sources for ${r.target.release}:`);
  for (const s of r.sources) {
    lines.push(`  ${s.name.padEnd(9)} ${s.found ? `found: ${s.detail ?? ''}` : `no: ${s.reason ?? ''}`}`);
    for (const w of s.warnings) lines.push(`            warning: ${w}`);
  }
  lines.push('', `BTF: ${r.btf.present ? `present (${r.btf.path})` : `absent (${r.btf.path})`}`);
  lines.push('', `cache: ${r.cache.path} (${r.cache.origin}${r.cache.exists ? '' : ', not created yet'}): ${r.cache.ok ? 'ok' : `UNSAFE: ${r.cache.error ?? ''}`}`);
  const n = r.network;
  lines.push('', `mirrors: ${n.mirrors.length === 0 ? 'none (BPF_COMPILE_MIRROR or --mirror)' : n.mirrors.join(' ')}${n.offline ? ' (offline)' : ''}`);
  const proxies = [`https:// ${n.httpsProxy === undefined ? 'direct' : `via ${n.httpsProxy}`}`, `http:// ${n.httpProxy === undefined ? 'direct' : `via ${n.httpProxy}`}`];
  lines.push(`  proxy: ${n.error ?? proxies.join(', ')}${n.noProxy === undefined ? '' : `; NO_PROXY: ${n.noProxy}`}`);
  const d = r.distro;
  lines.push(
    '',
    `distro repositories${d.family === undefined ? ` (${r.target.release} is not a distribution kernel release: only --apt-repo/--rpm-repo ones are searched)` : ` (${d.family}-style release)`}:${d.repositories.length === 0 ? ' none' : ''}`,
  );
  for (const repo of d.repositories) {
    lines.push(
      `  ${repo.repository}  ${repo.problem === undefined ? `${repo.keyCount} key${repo.keyCount === 1 ? '' : 's'} from ${repo.keys.join(', ')}` : `KEYS UNUSABLE: ${repo.problem}`}`,
    );
  }
  for (const sk of d.skipped) lines.push(`  skipped ${sk.source}: ${sk.outcome}`);
  if (d.identity !== undefined) lines.push(`  kernel build: ${d.identity.distro} ${d.identity.packageVersion} (${d.identity.from})`);
  const bpf = r.bpf.permitted ? 'permitted' : `not permitted: ${r.bpf.reason ?? ''}`;
  lines.push('', `bpf() loading: ${bpf} (root: ${r.bpf.root ? 'yes' : 'no'}, bpftool: ${r.bpf.bpftool ?? 'not found'})`);
  lines.push('', `verdict: ${r.verdict.summary}`);
  lines.push(`  kernel-headers programs: ${r.verdict.kernelHeaders ? 'yes' : 'no'}; CO-RE programs: ${r.verdict.core ? 'yes' : 'no'}`);
  if (r.nextSteps.length > 0) {
    lines.push('', 'next steps:');
    for (const s of r.nextSteps) lines.push(`  - ${s}`);
  }
  return `${lines.join('\n')}\n`;
}
