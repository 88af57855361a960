// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE kprobe: on every do_nanosleep() call, record the calling process's parent
 * (task->real_parent->tgid, read with BPF_CORE_READ so field offsets are relocated
 * against the running kernel's BTF) and count calls per process in a hash map.
 * Build against a generated vmlinux.h (no kernel headers needed):
 *   clang -g -O2 -target bpfel -D__TARGET_ARCH_x86 -I<dir of vmlinux.h> -c core_kprobe.bpf.c
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define COMM_LEN 16

struct proc_info {
	__u64 calls;
	__u32 ppid;
	char comm[COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct proc_info);
} sleepers SEC(".maps");

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(core_on_nanosleep)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct proc_info *info, zero = {};

	info = bpf_map_lookup_elem(&sleepers, &tgid);
	if (!info) {
		bpf_map_update_elem(&sleepers, &tgid, &zero, BPF_NOEXIST);
		info = bpf_map_lookup_elem(&sleepers, &tgid);
		if (!info)
			return 0;
	}
	__sync_fetch_and_add(&info->calls, 1);
	info->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(info->comm, sizeof(info->comm));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
