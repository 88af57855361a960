// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE tracepoint: on every exec (sched:sched_process_exec), send the pid and the
 * executed file name to user space through a BPF ring buffer. The file name is a
 * __data_loc field: the low 16 bits of __data_loc_filename are its offset from the
 * start of the record, the high 16 bits its length.
 * Read the events with a libbpf ring_buffer__poll() loop on the "events" map.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define FILENAME_LEN 256

struct exec_event {
	__u32 pid;
	__u32 old_pid;
	__u32 ppid;
	char comm[16];
	char filename[FILENAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tp/sched/sched_process_exec")
int core_on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e;
	unsigned int off;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = ctx->pid;
	e->old_pid = ctx->old_pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
