/*
 * The training run for the profile (-fprofile-instr-generate): child_function's error
 * path never runs, so machine-function splitting moves it into child_function.cold.
 */
int parent_function(int x);

int do_io(int x)
{
	return x;
}

void log_err(const char *message)
{
	(void)message;
}

static volatile int sink;

int main(void)
{
	long total = 0;

	/*
	 * Lukewarm code: clang calls a block cold when its count is within the profile's
	 * lowest 0.005% (-mfs-psi-cutoff=999950). Without counts below the hot path's, every
	 * block of this small program but the hottest would be "cold".
	 */
	for (int i = 0; i < 1000; i++)
		sink = i;
	for (int i = 0; i < 200000; i++)
		total += parent_function(i & 1023);
	return total == 42;
}
