// SPDX-License-Identifier: GPL-2.0
/*
 * The btfgen tests' libbpf loader: opens a BPF object with bpf_object_open_opts.btf_custom_path (the BTF its CO-RE
 * relocations are resolved against: a tailored file, or the full kernel BTF), loads it (the verifier judges the
 * relocated programs) and pins every program under a bpffs directory so the test can read the relocated
 * instructions with `bpftool prog dump xlated pinned`.
 *
 *   core-loader OBJECT BTF|- PIN_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>

static int print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s OBJECT BTF|- PIN_DIR\n", argv[0]);
		return 64;
	}
	libbpf_set_print(print);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = strcmp(argv[2], "-") ? argv[2] : NULL);
	struct bpf_object *obj = bpf_object__open_file(argv[1], &opts);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", argv[1], strerror(-err));
		return 2;
	}
	if (mkdir(argv[3], 0700) && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %s\n", argv[3], strerror(errno));
		return 3;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", argv[3], bpf_program__name(prog));
		err = bpf_program__pin(prog, path);
		if (err) {
			fprintf(stderr, "pin %s: %s\n", path, strerror(-err));
			return 4;
		}
		printf("%s\n", bpf_program__name(prog));
	}
	bpf_object__close(obj);
	return 0;
}
