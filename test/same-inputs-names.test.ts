/**
 * The proof's byte-level reading of normalizeName (compare/same-inputs.ts sameUpToNumbers):
 * whenever it calls two names the same, normalizeName must too. It may leave a case to
 * normalizeName (returning false), never decide one differently.
 */
import { describe, expect, test } from 'vitest';
import { sameUpToNumbers } from '../src/compare/same-inputs.js';
import { normalizeName } from '../src/compare/match.js';

/** The names in string tables of their own, not at offset 0, each followed by a NUL. */
function fast(x: string, y: string): boolean {
  return sameUpToNumbers(Buffer.from(`\0${x}\0`, 'latin1'), 1, Buffer.from(`ab${y}\0`, 'latin1'), 2);
}

describe('sameUpToNumbers', () => {
  test('the counters the kernel trees renumber', () => {
    expect(fast('__UNIQUE_ID_alias402', '__UNIQUE_ID_alias403')).toBe(true);
    expect(fast('__UNIQUE_ID___addressable_init_module399', '__UNIQUE_ID___addressable_init_module400')).toBe(true);
    expect(fast('__func__.28', '__func__.32')).toBe(true);
    expect(fast('foo.constprop.0.isra.1', 'foo.constprop.2.isra.0')).toBe(true);
    expect(fast('__UNIQUE_ID_x12.3', '__UNIQUE_ID_x1.4')).toBe(true);
  });

  test('numbers normalizeName keeps must be the same', () => {
    for (const [x, y] of [
      ['foo.12x', 'foo.13x'],
      ['__BTF_ID__func__bbr_init__8211160', '__BTF_ID__func__bbr_init__8241160'],
      ['__UNIQUE_ID_a1b2', '__UNIQUE_ID_a1b3'],
      ['x1.2', 'x2.2'],
      ['foo.1', 'foo.1.2'],
    ]) {
      expect(fast(x, y), `${x} ${y}`).toBe(false);
      expect(normalizeName(x), `${x} ${y}`).not.toBe(normalizeName(y));
    }
  });

  test('a literal N is left to normalizeName', () => {
    expect(fast('a.N', 'a.5')).toBe(false);
    expect(normalizeName('a.N')).toBe(normalizeName('a.5'));
  });

  test('never the same where normalizeName differs (seeded random names)', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ['_', 'N', '.', '.', '.', 'a', 'x', '0', '1', '2', '9', '5', '_', 'I', 'D'];
    const name = () => {
      let s = rnd(3) === 0 ? '__UNIQUE_ID_' : rnd(5) === 0 ? '__UNIQUE_ID' : '';
      for (let n = rnd(10); n > 0; n--) s += alphabet[rnd(alphabet.length)];
      return s;
    };
    const variant = (s: string) => {
      const chars = [...s];
      for (let k = rnd(3); k > 0; k--) {
        const at = rnd(chars.length + 1);
        const how = rnd(4);
        if (how === 0) chars.splice(at, 0, String(rnd(10)));
        else if (how === 1 && /\d/.test(chars[at] ?? '')) chars[at] = String(rnd(10));
        else if (how === 2) chars.splice(at, 1);
        else chars[at] = alphabet[rnd(alphabet.length)];
      }
      return chars.join('');
    };
    let same = 0;
    const wrong: string[] = [];
    for (let n = 0; n < 200_000; n++) {
      const x = name();
      const y = rnd(4) === 0 ? name() : variant(x);
      if (!fast(x, y)) continue;
      same++;
      if (normalizeName(x) !== normalizeName(y)) wrong.push(`${x} ${y}`);
    }
    expect(wrong).toEqual([]);
    expect(same).toBeGreaterThan(1000);
  });
});
