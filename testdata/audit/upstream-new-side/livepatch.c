/*
 * The disable direction: an upstream-style livepatch module (structures as in
 * ../upstream-stack-only/livepatch.c, with the stack_only and new_name fields of
 * kernel/6.1/0001-*.patch) whose original side is fully covered, but whose own code is not.
 * livepatch_child_func is split by gcc into livepatch_child_func.cold, which nothing names;
 * livepatch_tail_parent leaves for livepatch_helper by a tail call (a stack-only entry names
 * it by its new_func pointer), whose own .cold part nothing names; and one stack-only
 * new_name names a function the module does not have, which the kernel refuses.
 */
static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) = "livepatch=Y\0name=livepatch_upstream_new_side";

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

/* Not a new_func of its own: reached from livepatch_tail_parent by a jump. */
__attribute__((noinline)) static int livepatch_helper(int x)
{
	int r = do_io(x * 3);

	if (__builtin_expect(r < 0, 0)) {
		log_err("livepatch_helper: I/O failed");
		do_io(-3);
		log_err("livepatch_helper: retrying");
		r = do_io(x);
	}
	return r - 3;
}

static int livepatch_tail_parent(int x)
{
	if (x > 6)
		return livepatch_helper(x + 1);
	return x - 1;
}

static struct klp_func funcs[] = {
	{ .old_name = "child_func", .new_func = livepatch_child_func },
	{ .old_name = "child_func.cold", .stack_only = 1 },
	{ .old_name = "tail_parent", .new_func = livepatch_tail_parent },
	{ .new_func = livepatch_helper, .stack_only = 1 },
	{ .new_name = "livepatch_gone", .stack_only = 1 },
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
