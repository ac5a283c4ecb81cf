/*
 * Built as the kernel builds with retpolines, return thunks and ftrace:
 *   -fno-pie -mindirect-branch=thunk-extern -mfunction-return=thunk-extern -pg -mfentry
 * so every function starts with `call __fentry__`, returns are `jmp __x86_return_thunk`,
 * and calls through pointers go through `__x86_indirect_thunk_<reg>`. None of these is a
 * call or a tail call between functions.
 */
extern int step(int);
extern int finish(int);

int dispatch(int (*handler)(int), int x)
{
	int r = handler(x);   /* indirect call: call __x86_indirect_thunk_rax */
	return step(r) + 1;   /* a real call, then a return through the thunk */
}

int forward(int x)
{
	return finish(x * 2); /* a real tail call: jmp finish */
}
