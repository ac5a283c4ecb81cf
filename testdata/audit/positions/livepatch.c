/*
 * An upstream-style livepatch module whose old_sympos values are checked against dup_mod,
 * which has two local functions named helper: sympos 0 is ambiguous (the kernel refuses
 * the patch), 3 is past the two there are, 2 is the second. no_such_function is not there.
 * Two klp_objects: the second, vmlinux (a NULL name), patches vm_func, whose .cold part is
 * left uncovered.
 */
static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) = "livepatch=Y\0name=livepatch_positions";

struct klp_func {
	const char *old_name;
	void *new_func;
	unsigned long old_sympos;
	void *internal[16];
};

struct klp_object {
	const char *name;
	struct klp_func *funcs;
	void *callbacks[5];
	void *internal[14];
};

struct klp_patch {
	void *mod;
	struct klp_object *objs;
	void *internal[10];
};

extern char __this_module[];

static int livepatch_helper(int x)
{
	return x + 1;
}

static int livepatch_vm_func(int x)
{
	return x * 2;
}

static struct klp_func dup_funcs[] = {
	{ .old_name = "helper", .new_func = livepatch_helper },
	{ .old_name = "helper", .new_func = livepatch_helper, .old_sympos = 3 },
	{ .old_name = "helper", .new_func = livepatch_helper, .old_sympos = 2 },
	{ .old_name = "no_such_function", .new_func = livepatch_helper },
	{ }
};

static struct klp_func vmlinux_funcs[] = {
	{ .old_name = "vm_func", .new_func = livepatch_vm_func },
	{ }
};

static struct klp_object objs[] = {
	{ .name = "dup_mod", .funcs = dup_funcs },
	{ .funcs = vmlinux_funcs },
	{ }
};

struct klp_patch patch = {
	.mod = __this_module,
	.objs = objs,
};
