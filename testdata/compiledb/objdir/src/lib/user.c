#include <gen/limits.h>

int user_limit(int x)
{
	int r = gen_io(x);

	if (__builtin_expect(r > GEN_LIMIT, 0)) {
		gen_log("user_limit: over", __FILE__, r);
		r = GEN_LIMIT;
	}
	return r;
}

int user_other(int x)
{
	return gen_io(x) * 3;
}
