extern int op_read(int);
extern int op_write(int);
extern int op_sync(void);
extern int op_trim(int);
extern int op_flush(int);
extern void report(const char *, int) __attribute__((cold));

int do_cmd(int cmd, int arg)
{
	int r;

	switch (cmd) {
	case 0: r = op_read(arg); break;
	case 1: r = op_write(arg) + 1; break;
	case 2: r = op_sync() * 2; break;
	case 3: r = op_trim(arg) - 3; break;
	case 4: r = op_flush(arg) ^ 4; break;
	case 5:
		report("do_cmd: obsolete command", arg);
		r = op_trim(arg) - 5;
		break;
	default: r = -22; break;
	}
	return r + arg;
}

int cmd_valid(int cmd)
{
	return cmd >= 0 && cmd <= 5;
}
