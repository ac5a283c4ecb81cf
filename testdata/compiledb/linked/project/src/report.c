/* The cold function the checks call: not in the database, linked into vmlinux by the test. */
int foo_reports;

void foo_report(const char *what, int value)
{
	(void)what;
	foo_reports += value;
}
