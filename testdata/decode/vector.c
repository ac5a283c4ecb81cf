/* Vector code for the decoder agreement test: auto-vectorised loops (their
 * encoding follows -march) plus functions pinned to ISA extensions with target
 * attributes so that VEX, EVEX and legacy SSE forms appear at every -O level. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

void saxpy(float *restrict y, const float *restrict x, float a, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

double dot(const double *a, const double *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

void widen(int64_t *restrict out, const int8_t *restrict in, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = in[i] * 3 - (in[i] >> 2);
}

unsigned char clampbytes(unsigned char *restrict d, const short *restrict s, int n) {
  unsigned char m = 0;
  for (int i = 0; i < n; i++) {
    int v = s[i] < 0 ? 0 : s[i] > 255 ? 255 : s[i];
    d[i] = (unsigned char)v;
    m |= d[i];
  }
  return m;
}

__attribute__((target("avx2,fma"))) __m256 fma8(__m256 a, __m256 b, __m256 c, const int *idx, const float *base) {
  __m256i vi = _mm256_loadu_si256((const __m256i *)idx);
  __m256 g = _mm256_i32gather_ps(base, vi, 4);
  __m256 r = _mm256_fmadd_ps(a, b, c);
  r = _mm256_permute2f128_ps(r, g, 0x21);
  return _mm256_blend_ps(r, _mm256_shuffle_ps(r, g, 0x1b), 0xa5);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) void mask_add(float *d, const float *s, int n, __m512i k) {
  for (int i = 0; i + 16 <= n; i += 16) {
    __mmask16 m = _mm512_cmplt_epi32_mask(_mm512_loadu_si512(s + i), k);
    __m512 v = _mm512_maskz_loadu_ps(m, s + i);
    v = _mm512_add_round_ps(v, _mm512_set1_ps(1.5f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm512_mask_storeu_ps(d + i, m, v);
    __m512i p = _mm512_permutexvar_epi32(k, _mm512_castps_si512(v));
    _mm512_storeu_si512(d + i, _mm512_ternarylogic_epi32(p, k, p, 0x96));
  }
}

__attribute__((target("avx512f"))) double reduce512(const double *p) {
  __m512d v = _mm512_loadu_pd(p);
  __m512d w = _mm512_getexp_pd(_mm512_scalef_pd(v, _mm512_set1_pd(2.0)));
  return _mm512_reduce_add_pd(w) + _mm512_reduce_max_pd(v);
}

__attribute__((target("sse4.2"))) uint32_t crc(const uint8_t *p, size_t n, uint32_t c) {
  while (n >= 8) { c = (uint32_t)_mm_crc32_u64(c, *(const uint64_t *)p); p += 8; n -= 8; }
  while (n--) c = _mm_crc32_u8(c, *p++);
  return c;
}

__attribute__((target("sse4.2"))) int find_any(const char *s, const char *set) {
  __m128i a = _mm_loadu_si128((const __m128i *)s), b = _mm_loadu_si128((const __m128i *)set);
  return _mm_cmpistri(b, a, _SIDD_CMP_EQUAL_ANY) + _mm_extract_epi16(a, 3) + _mm_extract_epi8(b, 5);
}

__attribute__((target("aes,pclmul,sse4.1"))) __m128i aes_round(__m128i s, __m128i k) {
  s = _mm_aesenc_si128(s, k);
  s = _mm_aesenclast_si128(s, _mm_aeskeygenassist_si128(k, 0x1b));
  return _mm_xor_si128(s, _mm_clmulepi64_si128(s, k, 0x11));
}

__attribute__((target("sha"))) __m128i sha_step(__m128i a, __m128i b, __m128i c) {
  return _mm_sha256rnds2_epu32(_mm_sha1rnds4_epu32(a, b, 2), c, a);
}

__attribute__((target("bmi,bmi2,lzcnt,popcnt"))) uint64_t bits(uint64_t a, uint64_t b) {
  return _pdep_u64(a, b) ^ _pext_u64(b, a) ^ _lzcnt_u64(a) ^ (uint64_t)__builtin_popcountll(b) ^ _blsr_u64(a) ^ _bzhi_u64(b, 7) ^ _mulx_u64(a, b, (unsigned long long *)&b);
}

__attribute__((target("rdrnd,rdseed"))) unsigned long long rnd(void) {
  unsigned long long x = 0, y = 0;
  _rdrand64_step(&x);
  _rdseed64_step(&y);
  return x ^ y;
}

__attribute__((target("f16c,avx"))) __m256 halfs(__m128i h) { return _mm256_cvtph_ps(h); }

__attribute__((target("gfni,avx512f,avx512bw,vaes,vpclmulqdq"))) __m512i gf(__m512i a, __m512i b) {
  return _mm512_aesenc_epi128(_mm512_gf2p8affine_epi64_epi8(a, b, 3), _mm512_clmulepi64_epi128(a, b, 0));
}

__attribute__((target("avxvnni"))) __m256i vnni(__m256i a, __m256i b, __m256i c) { return _mm256_dpbusd_avx_epi32(a, b, c); }

__attribute__((target("avx512fp16"))) _Float16 hsum(const _Float16 *p, int n) {
  _Float16 s = 0;
  for (int i = 0; i < n; i++) s += p[i] * (_Float16)1.5;
  return s;
}
