/* Scalar code for the decoder agreement test: jump tables, cold paths, x87,
 * 128-bit arithmetic, atomics, string operations, setjmp, computed goto,
 * 16/8-bit operand sizes, variadics and tail calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void sink(const void *, ...);
extern int ext_fn(int);

int dispatch(int op, int a, int b) {
  switch (op) {
  case 0: return a + b;
  case 1: return a - b;
  case 2: return a * b;
  case 3: return b ? a / b : 0;
  case 4: return a << (b & 31);
  case 5: return a >> (b & 31);
  case 6: return ext_fn(a);
  case 7: return ext_fn(b) + 1;
  case 9: return a ^ b;
  case 12: return a | b;
  default: return -1;
  }
}

__attribute__((noinline)) int checked(int *p, int n) {
  if (__builtin_expect(p == NULL, 0)) {
    fprintf(stderr, "null pointer %d\n", n);
    abort();
  }
  if (__builtin_expect(n > 1000000, 0)) {
    sink(p, n, "huge", 1.0);
    return ext_fn(n);
  }
  int s = 0;
  for (int i = 0; i < n; i++) s += p[i];
  return s;
}

long double ld_poly(long double x) { return ((x * 3.0L + 2.0L) * x - 1.0L) / (x + 0.5L); }
double fp_mix(double a, float b) { return a * b + (double)(long)a - (float)(a / b); }

unsigned __int128 mul128(unsigned __int128 a, unsigned __int128 b) { return a * b + a / (b | 1); }
__int128 smod(__int128 a, __int128 b) { return a % (b ? b : 1); }

_Atomic long counter;
_Atomic unsigned char flag8;
_Atomic short flag16;
__int128 wide;

long atomics(long v) {
  atomic_fetch_add(&counter, v);
  long old = atomic_exchange(&counter, v * 2);
  long exp = old;
  atomic_compare_exchange_strong(&counter, &exp, 7);
  atomic_fetch_or(&flag8, 3);
  atomic_fetch_and_explicit(&flag16, 0x7f, memory_order_relaxed);
  atomic_thread_fence(memory_order_seq_cst);
  __sync_bool_compare_and_swap(&flag16, 1, 2);
  return old + atomic_load(&counter) + __atomic_add_fetch(&flag16, 5, __ATOMIC_ACQ_REL);
}

__attribute__((target("cx16"))) int cas128(__int128 *p, __int128 o, __int128 n) {
  return __sync_bool_compare_and_swap(p, o, n);
}

void strings(char *d, const char *s, size_t n) {
  memcpy(d, s, n);
  memset(d + n, 0, 64);
  __builtin_memmove(d + 1, d, 33);
  sink(d, strlen(s), strchr(s, 'x'));
}

static jmp_buf jb;
int try_it(int x) {
  if (setjmp(jb)) return -1;
  if (x < 0) longjmp(jb, 1);
  return x * 2;
}

int interp(const unsigned char *code) {
  static void *labels[] = {&&op_inc, &&op_dec, &&op_dbl, &&op_end};
  int acc = 0;
  goto *labels[*code++ & 3];
op_inc: acc++; goto *labels[*code++ & 3];
op_dec: acc--; goto *labels[*code++ & 3];
op_dbl: acc <<= 1; goto *labels[*code++ & 3];
op_end: return acc;
}

short narrow(short a, unsigned char b, signed char c) {
  short r = (short)(a * b) >> 3;
  r ^= (short)(c << 2);
  return (short)(r + (unsigned short)a / (b | 1));
}

uint64_t bitops(uint64_t x, int n) {
  x = __builtin_bswap64(x) ^ (x << (n & 63) | x >> (-n & 63));
  if (x & (1ULL << (n & 63))) x |= 1ULL << 40;
  return x + (uint64_t)__builtin_ctzll(x | 1) + (uint64_t)__builtin_clzll(x | 1) + (uint16_t)__builtin_bswap16((uint16_t)x);
}

int sum_va(int n, ...) {
  va_list ap;
  va_start(ap, n);
  int s = 0;
  double d = 0;
  for (int i = 0; i < n; i++) { s += va_arg(ap, int); d += va_arg(ap, double); }
  va_end(ap);
  return s + (int)d;
}

int tail(int x) { return x > 10 ? ext_fn(x - 1) : dispatch(x, x, 3); }

int vla(int n) {
  char *buf = __builtin_alloca((size_t)n + 1);
  memset(buf, 'a', (size_t)n);
  buf[n] = 0;
  sink(buf);
  return buf[n / 2];
}

struct bf { unsigned a : 3, b : 9, c : 20; long long d : 40; };
long long bitfield(struct bf *p) { p->b += p->a; p->c ^= 5; return p->d + p->c; }

int cmov_chain(int a, int b, int c) { int m = a < b ? a : b; m = m > c ? c : m; return m == 4 ? 100 : m * 7; }

void *big_frame(int i) {
  volatile char arr[70000];
  arr[i] = 1;
  sink((void *)arr);
  return (void *)__builtin_return_address(0);
}

_Thread_local int tls_counter;
int tls_bump(void) { return ++tls_counter; }
