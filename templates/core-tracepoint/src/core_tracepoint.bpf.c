// SPDX-License-Identifier: GPL-2.0
/*
 * {{name}}: a CO-RE tracepoint. On every exec (sched:sched_process_exec) it sends the
 * pid, parent pid, comm and executed file name to user space through the "events" ring
 * buffer, and counts execs in "exec_count". Built against a vmlinux.h generated from
 * the kernel's BTF: no kernel headers needed, and the object runs on other kernels too.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define FILENAME_LEN 256

struct exec_event {
	__u32 pid;
	__u32 ppid;
	char comm[16];
	char filename[FILENAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} exec_count SEC(".maps");

SEC("tp/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e;
	__u32 zero = 0;
	__u64 *count;
	unsigned int off;

	count = bpf_map_lookup_elem(&exec_count, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = ctx->pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* __data_loc: low 16 bits are the offset from the record start, high 16 the length */
	off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
