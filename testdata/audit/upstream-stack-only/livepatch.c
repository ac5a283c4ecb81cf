/*
 * An upstream-style livepatch module (a static klp_patch, klp_object[] and klp_func[]) with
 * the stack_only and new_name fields of kernel/6.1/0001-*.patch, at their offsets there
 * (+24, +32). The internal fields are padding here, of another size than the kernel's: the
 * reader must find the structures' sizes from the object, not assume them.
 * child_func is patched and its .cold part is a stack-only entry; tail_parent is patched and
 * reaches child_func (patched) and child_func.cold (stack-only). The livepatch's own code is
 * split the same way: livepatch_child_func.cold is named by a stack-only new_name, and
 * livepatch_tail_parent leaves for livepatch_child_func (a new_func) by a tail call. Nothing
 * is left uncovered, in either direction.
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

extern int do_io(int);
extern void log_err(const char *) __attribute__((cold));

/* As orig.c's child_func: the unlikely branch calls a cold function, gcc -O2 moves it into .cold. */
__attribute__((noinline)) static int livepatch_child_func(int x)
{
	int r = do_io(x);

	if (__builtin_expect(r < 0, 0)) {
		log_err("livepatch_child_func: I/O failed");
		do_io(-2);
		log_err("livepatch_child_func: retrying");
		r = do_io(x);
	}
	return r + 2;
}

static int livepatch_tail_parent(int x)
{
	if (x > 6)
		return livepatch_child_func(x + 1);
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
