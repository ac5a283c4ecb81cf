/*
 * A kpatch-format livepatch module, as kpatch-build's create-diff-object lays it out:
 * struct kpatch_patch_func entries in .kpatch.funcs (kmod/patch/kpatch-patch.h), their
 * names and object names relocations to strings. It patches tail_parent of orig_mod and
 * vm_func of vmlinux, and nothing else: tail_parent leaves for child_func by a tail call
 * and child_func has a .cold part; vm_func has one too.
 */
static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) = "livepatch=Y\0name=livepatch_kpatch_tail_call";

struct kpatch_patch_func {
	unsigned long new_addr;
	unsigned long new_size;
	unsigned long old_addr;
	unsigned long old_size;
	unsigned long sympos;
	char *name;
	char *objname;
};

static int livepatch_tail_parent(int x)
{
	return x - 1;
}

static int livepatch_vm_func(int x)
{
	return x * 2;
}

static struct kpatch_patch_func kpatch_funcs[] __attribute__((section(".kpatch.funcs"), used)) = {
	{ .new_addr = (unsigned long)livepatch_tail_parent, .name = "tail_parent", .objname = "orig_mod" },
	{ .new_addr = (unsigned long)livepatch_vm_func, .name = "vm_func", .objname = "vmlinux" },
};
