/* Generated next to table.c in the build directory. */
#define TABLE_BASE 4
