/*
 * Two unrelated functions with the same error path (a retry, logged): the patch makes
 * gain()'s path call the __cold note(), so gcc moves it to gain.cold, and takes the call
 * out of lose()'s, whose .cold part goes. The two parts call the same things, but neither
 * function calls the other: no inlining moved code between them. lose's cold mapping is
 * lost and gain's gained, each a change of its own, not one part reparented.
 */
extern int do_io(int);
extern void log_err(const char *);
extern void note(int) __attribute__((cold));

int lose(int x)
{
	int r = do_io(x);

	if (r < 0) {
		log_err("retrying");
		r = do_io(x);
	}
	return r + 1;
}

int gain(int x)
{
	int r = do_io(x);

	if (r < 0) {
		note(2);
		log_err("retrying");
		r = do_io(x);
	}
	return r + 2;
}
