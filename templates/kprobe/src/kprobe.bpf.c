// SPDX-License-Identifier: GPL-2.0
/*
 * {{name}}: a kprobe compiled against kernel headers. On every do_nanosleep() it
 * reads task_struct fields of the current task (tgid, the parent's tgid, comm) and
 * counts calls per process in the "procs" hash map.
 */
#include <linux/sched.h>
#include <linux/ptrace.h>
#include <uapi/linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct proc_stat {
	u64 calls;
	u32 ppid;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct proc_stat);
} procs SEC(".maps");

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(on_nanosleep)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent = NULL;
	struct proc_stat zero = {}, *st;
	u32 tgid = 0;

	bpf_probe_read_kernel(&tgid, sizeof(tgid), &task->tgid);
	st = bpf_map_lookup_elem(&procs, &tgid);
	if (!st) {
		bpf_probe_read_kernel(&parent, sizeof(parent), &task->real_parent);
		if (parent)
			bpf_probe_read_kernel(&zero.ppid, sizeof(zero.ppid), &parent->tgid);
		bpf_probe_read_kernel_str(zero.comm, sizeof(zero.comm), task->comm);
		bpf_map_update_elem(&procs, &tgid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&procs, &tgid);
		if (!st)
			return 0;
	}
	__sync_fetch_and_add(&st->calls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
