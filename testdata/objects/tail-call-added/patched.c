extern int submit(int);
extern int queue_len(void);
extern int lookup(int);
extern void drop(int);
extern void report(const char *, int) __attribute__((cold));

static __attribute__((noinline)) int commit_req(int req, int slot)
{
	return submit(req * 16 + slot);
}

static __attribute__((noinline)) int validate_req(int req)
{
	int slot = lookup(req);

	if (__builtin_expect(slot < 0, 0)) {
		report("validate_req: no slot", req);
		drop(req);
		slot = lookup(0);
	}
	return commit_req(req, slot);
}

int handle_req(int req)
{
	if (req > 0)
		return validate_req(req);
	return -22;
}

int queue_empty(void)
{
	return queue_len() == 0;
}
