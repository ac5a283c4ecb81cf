/*
 * A klp-build-format livepatch module (Linux 6.19's objtool klp diff): struct
 * klp_object_ext in .init.klp_objects, struct klp_func_ext in .init.klp_funcs
 * (include/linux/livepatch_external.h). It patches child_func and tail_parent of orig_mod
 * and covers child_func.cold with an entry that has no new_func: the stack-only entry of a
 * format that has no stack_only field. Everything the patched functions reach is covered.
 */
static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) = "livepatch=Y\0name=livepatch_klp_build_covered";

struct klp_func_ext {
	const char *old_name;
	void *new_func;
	unsigned long sympos;
};

struct klp_callbacks {
	void *pre_patch, *post_patch, *pre_unpatch, *post_unpatch;
	_Bool post_unpatch_enabled;
};

struct klp_object_ext {
	const char *name;
	struct klp_func_ext *funcs;
	struct klp_callbacks callbacks;
	unsigned int nr_funcs;
};

static int livepatch_child_func(int x)
{
	return x + 1;
}

static int livepatch_tail_parent(int x)
{
	return x - 1;
}

static struct klp_func_ext funcs[] __attribute__((section(".init.klp_funcs"), used)) = {
	{ .old_name = "child_func", .new_func = livepatch_child_func },
	{ .old_name = "child_func.cold" },
	{ .old_name = "tail_parent", .new_func = livepatch_tail_parent },
};

static struct klp_object_ext objects[] __attribute__((section(".init.klp_objects"), used)) = {
	{ .name = "orig_mod", .funcs = funcs, .nr_funcs = 3 },
};
