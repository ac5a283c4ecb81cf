/* Varied C for the ELF reader tests: static and global functions, data, strings,
 * cold paths, a jump table, weak inline functions, thread-local and common data. */
#include <stddef.h>

extern int do_io(int fd, const char *msg);
extern void report(const char *fmt, ...);
extern int external_counter;

int global_data = 42;
static int static_data = 7;
const char greeting[] = "hello, relocations";
static const char *const messages[] = { "zero", "one", "two", "three" };
int zero_data;
__thread int tls_counter;
static __thread long tls_static = 5;
__attribute__((weak)) int weak_data = 3;
int common_data __attribute__((common));

static int helper(int x)
{
	return x * 3 + static_data;
}

__attribute__((noinline)) static int static_worker(int x)
{
	if (__builtin_expect(x < 0, 0)) {
		report("negative value %d in %s", x, __func__);
		do_io(2, "static_worker failed");
		return -1;
	}
	return helper(x) + tls_counter++;
}

int child_func(int fd, int n)
{
	int r = do_io(fd, greeting);
	if (__builtin_expect(r < 0, 0)) {
		report("child_func: io error %d on fd %d", r, fd);
		report("retrying %d", n);
		r = do_io(fd, "retry");
		if (r < 0)
			return r;
	}
	return r + static_worker(n) + global_data;
}

int dispatch(int op, int a, int b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a - b;
	case 2: return a * b;
	case 3: return b ? a / b : 0;
	case 4: return a << (b & 31);
	case 5: return a >> (b & 31);
	case 6: return a & b;
	case 7: return a | b;
	case 8: return a ^ b;
	case 9: return do_io(a, messages[b & 3]);
	default: return -1;
	}
}

static inline int small_inline(int x)
{
	return x + weak_data;
}

__attribute__((weak)) int weak_func(int x)
{
	return small_inline(x) * 2;
}

__attribute__((visibility("hidden"))) int hidden_func(int x)
{
	return weak_func(x) + 1;
}

__attribute__((visibility("protected"))) int protected_func(int x)
{
	return hidden_func(x) - 1;
}

static void (*const callbacks[])(const char *, ...) = { report, report };

int uses_pointers(int i)
{
	callbacks[i & 1]("ptr %p %ld", (void *)&static_worker, tls_static);
	return external_counter + zero_data + common_data;
}

int loop_sum(const int *v, size_t n)
{
	int s = 0;
	for (size_t i = 0; i < n; i++) {
		if (__builtin_expect(v[i] == 0x7fffffff, 0)) {
			report("overflow at %zu", i);
			return -1;
		}
		s += v[i];
	}
	return s;
}

/* A COMDAT group written out by hand, so that every target's object has one. */
__asm__(".section .data.comdat_sig,\"awG\",@progbits,comdat_sig,comdat\n"
	".globl comdat_sig\n"
	"comdat_sig:\n"
	".long global_data\n"
	".previous\n");
