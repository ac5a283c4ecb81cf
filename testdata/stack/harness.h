/*
 * Shared harness of the stack-proof tests (test/stack-proof.test.ts).
 *
 * A test program is: the code under test (orig.c or patched.c, compiled exactly as
 * stackonly compiles it), a case's driver.c (the extern functions that code calls, and
 * the threads to start), and this harness (main()). Each thread drives the code under
 * test into one blocking place: a driver function called from it calls harness_block(),
 * which reports the thread as blocked and sleeps forever. When every thread has
 * reported, main() prints one line per thread and "ready"; the test then attaches gdb
 * and reads the real stacks.
 *
 * The driver and the harness are built with -O0 -fno-omit-frame-pointer: no inlining,
 * no tail calls, so each driver function keeps its own frame.
 *
 * The driver is compiled once per program with HARNESS_PATCHED defined to 0 (linked
 * with orig.c) or 1 (linked with patched.c).
 */
#ifndef STACK_HARNESS_H
#define STACK_HARNESS_H

#ifndef HARNESS_PATCHED
#error "compile with -DHARNESS_PATCHED=0 (original program) or 1 (patched program)"
#endif

struct harness_thread {
	const char *name;
	void (*run)(void);
};

/* Defined by the driver: the threads to start, ended by { 0, 0 }. */
extern const struct harness_thread harness_threads[];

/*
 * Reports the calling thread as blocked at `where` and never returns. A thread whose
 * run() returns blocks here too, at "returned".
 */
void harness_block(const char *where);

/* Whether the calling thread is the one named `name` in harness_threads. */
int harness_is(const char *name);

#endif
