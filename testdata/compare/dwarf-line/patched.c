/*
 * A one-line comment added near the top moves every __LINE__ below it by 1; limit()'s
 * constant goes from 40 to 41 the same way. Built with -g (as kpatch-style pipelines build
 * kernels: CONFIG_DEBUG_INFO), the objects' line tables say what each constant is:
 *  - audit_here() passes __LINE__ to record(), a callee nothing else shows takes lines: the
 *    value is the line of the call that receives it, in both builds (dwarf);
 *  - limit() passes 40, then 41: not the line of its call in either build, a change.
 */
/* the patch adds this comment line */
extern void record(int where);
extern void set_limit(int value);

int audit_here(int x)
{
	if (x < 0)
		record(__LINE__);
	return x * 3;
}

void limit(void)
{
	set_limit(41);
}
