/*
 * A driver that prints the kernel release it was built for, as bonding, team, i40e and
 * the SCSI target modules do (UTS_RELEASE in a format string or a version string), with
 * .modinfo as MODULE_INFO() writes it. Built twice with -DRELEASE='"6.1.0-54-amd64"' and
 * -DRELEASE='"6.1.0-55-amd64"' and nothing else changed, the two objects differ in the
 * literals that hold the release: build noise, not a change to patch.
 */
#ifndef RELEASE
#define RELEASE "6.1.0-54-amd64"
#endif

extern int seq_printf(void *m, const char *fmt, ...);
extern char *strscpy(char *dst, const char *src, unsigned long n);

static const char vermagic[] __attribute__((section(".modinfo"), used, aligned(1))) = "vermagic=" RELEASE " SMP preempt mod_unload modversions ";
static const char modname[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=drv";

int drv_info_show(void *m)
{
	seq_printf(m, "Example Driver: v" RELEASE "\n");
	return 0;
}

void drv_get_drvinfo(char *version)
{
	strscpy(version, RELEASE, 32);
}

int drv_unrelated(int x)
{
	return x * 7 + 1;
}
