/**
 * The names and sections compilers give the pieces of a split function (design.md §2-§3),
 * in one place so that the function table, the transfers and the part rules agree:
 *
 * - gcc: `foo.cold` (gcc 8: `foo.cold.N`) in `.text.unlikely` or `.text.unlikely.foo`;
 * - clang's -fsplit-machine-functions, and Propeller's cold code: `foo.cold` in
 *   `.text.split.foo` (a sized `STT_NOTYPE` symbol);
 * - clang's -fbasic-block-sections and Propeller's clusters: `foo.__part.N` (sized
 *   `STT_NOTYPE`), each in a section of its own that has the same name as foo's.
 *
 * A clone's part carries the clone's name first (`foo.isra.0.cold`, `foo.llvm.123.cold`).
 */

/** A part's name; group 1 is the name of the function it was split from. */
export const PART_NAME = /^(.+?)\.(?:cold(?:\.\d+)?|__part\.\d+)$/;

/** A cheap test that a name may be a part's (a superset of PART_NAME, for hot loops). */
export function mayBePartName(name: string): boolean {
  return name.includes('.cold') || name.includes('.__part.');
}

/** clang's basic-block-section parts (`foo.__part.N`), which live in a section named like foo's. */
export function isBlockSectionPart(name: string): boolean {
  return /\.__part\.\d+$/.test(name);
}

/** Section prefixes that hold one function's split-off code, followed by that function's name. */
const PART_SECTION_PREFIXES = ['.text.unlikely.', '.text.split.'];

/** The function a part section names (`.text.split.foo`: foo), if the section is one. */
export function partSectionOwner(sectionName: string): string | undefined {
  for (const prefix of PART_SECTION_PREFIXES) if (sectionName.startsWith(prefix)) return sectionName.slice(prefix.length);
  return undefined;
}

/**
 * Whether code looks like split-off code by its name or section: a part jumps back into
 * its parent and the parent into it, so both directions look alike, and this decides.
 * `.text.unlikely` without a suffix is gcc's cold section without -ffunction-sections.
 */
export function looksLikePart(fn: { name: string; sectionName: string }): boolean {
  return PART_NAME.test(fn.name) || fn.sectionName.startsWith('.text.unlikely') || fn.sectionName.startsWith('.text.split.');
}
