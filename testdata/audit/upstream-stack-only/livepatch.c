/*
 * An upstream-style livepatch module (a static klp_patch, klp_object[] and klp_func[]) with
 * the stack_only and new_name fields of kernel/6.1/0001-*.patch, at their offsets there
 * (+24, +32). The internal fields are padding here, of another size than the kernel's: the
 * reader must find the structures' sizes from the object, not assume them.
 * child_func is patched and its .cold part is a stack-only entry; tail_parent is patched and
 * reaches child_func (patched) and child_func.cold (stack-only). Nothing is left uncovered.
 */
static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) = "livepatch=Y\0name=livepatch_upstream_stack_only";

struct klp_func {
	const char *old_name;
	void *new_func;
	unsigned long old_sympos;
	const char *new_name;
	_Bool stack_only;
	void *internal[9];
};

struct klp_object {
	const char *name;
	struct klp_func *funcs;
	void *callbacks[5];
	void *internal[11];
};

struct klp_patch {
	void *mod;
	struct klp_object *objs;
	void *internal[7];
};

extern char __this_module[];

static int livepatch_child_func(int x)
{
	return x + 1;
}

static int livepatch_tail_parent(int x)
{
	return x - 1;
}

static struct klp_func funcs[] = {
	{ .old_name = "child_func", .new_func = livepatch_child_func },
	{ .old_name = "child_func.cold", .stack_only = 1 },
	{ .old_name = "tail_parent", .new_func = livepatch_tail_parent },
	{ .new_name = "livepatch_child_func.cold", .stack_only = 1 },
	{ }
};

static struct klp_object objs[] = {
	{ .name = "orig_mod", .funcs = funcs },
	{ }
};

struct klp_patch patch = {
	.mod = __this_module,
	.objs = objs,
};
