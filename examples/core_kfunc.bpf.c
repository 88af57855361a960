// SPDX-License-Identifier: GPL-2.0
// Needs a kernel with the bpf_task_acquire/bpf_task_release kfuncs (Linux >= 6.2) and BTF-enabled tracepoints.
/*
 * CO-RE kfunc call: on every new task (tp_btf/task_newtask), take a reference on the
 * (trusted) task with the bpf_task_acquire() kfunc, read through it, and drop it with
 * bpf_task_release(). New tasks are counted per creating process (tgid) in a hash map.
 * The kfunc prototypes (extern ... __weak __ksym) come from the generated vmlinux.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} new_tasks SEC(".maps");

SEC("tp_btf/task_newtask")
int BPF_PROG(core_on_newtask, struct task_struct *task, u64 clone_flags)
{
	struct task_struct *acquired;
	__u64 one = 1, *count;
	__u32 tgid;

	acquired = bpf_task_acquire(task);
	if (!acquired)
		return 0;
	tgid = acquired->tgid;
	bpf_task_release(acquired);

	count = bpf_map_lookup_elem(&new_tasks, &tgid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&new_tasks, &tgid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
