// SPDX-License-Identifier: GPL-2.0
/*
 * A map-using program against kernel headers: a raw tracepoint on sys_enter that counts
 * system calls per syscall number in a per-CPU array, and per process in an LRU hash.
 * Compile: bpf-compile compile examples/syscall_count.bpf.c -o syscall_count.bpf.o
 */
#include <linux/ptrace.h>
#include <linux/types.h>
#include <uapi/linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_SYSCALLS 512

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, u32);
	__type(value, u64);
} by_nr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} by_pid SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_syscalls(struct bpf_raw_tracepoint_args *ctx)
{
	u32 nr = (u32)ctx->args[1];
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *v;

	if (nr < MAX_SYSCALLS) {
		v = bpf_map_lookup_elem(&by_nr, &nr);
		if (v)
			*v += 1;
	}
	v = bpf_map_lookup_elem(&by_pid, &pid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&by_pid, &pid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
