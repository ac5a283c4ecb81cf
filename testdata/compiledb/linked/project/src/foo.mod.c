/* What modpost generates for module foo, as much of it as the test needs: its .modinfo name. */
static const char foo_modinfo_name[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=foo";
