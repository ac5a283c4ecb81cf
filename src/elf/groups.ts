import { SHT_GROUP, type ElfGroup, type ElfSection } from './types.js';
import type { FileView } from './file-view.js';

/** The section groups (COMDAT and others), each member checked to exist and to belong to one group only. */
export function readGroups(file: FileView, sections: ElfSection[], symtab: ElfSection | undefined, is64: boolean, describe: (s: ElfSection) => string): ElfGroup[] {
  const groups: ElfGroup[] = [];
  let groupOf: Int32Array | undefined;
  for (const section of sections) {
    if (section.type !== SHT_GROUP) continue;
    if (section.size % 4 !== 0 || section.size < 4) file.fail(`${describe(section)}: size ${section.size} is not a whole number of words`);
    if (!symtab || section.link !== symtab.index) file.fail(`${describe(section)}: linked symbol table ${section.link} is not the object's symbol table`);
    const symbolCount = symtab ? symtab.size / (is64 ? 24 : 16) : 0;
    if (section.info >= symbolCount) file.fail(`${describe(section)}: signature symbol ${section.info} does not exist (${symbolCount} symbols)`);
    const words = section.size / 4;
    const members: number[] = new Array(words - 1);
    for (let i = 1; i < words; i++) {
      const member = file.u32(section.offset + i * 4);
      if (member === 0 || member >= sections.length) file.fail(`${describe(section)}: member ${member} does not exist`);
      const memberSection = sections[member];
      if (memberSection.type === SHT_GROUP) file.fail(`${describe(section)}: member ${describe(memberSection)} is a group itself`);
      // A section belongs to at most one group (gABI): a member named twice is a corrupt table.
      const owner = (groupOf ??= new Int32Array(sections.length))[member];
      if (owner !== 0) file.fail(`${describe(section)}: member ${describe(memberSection)} is already a member of ${owner === section.index ? 'this group' : describe(sections[owner])}`);
      groupOf[member] = section.index;
      members[i - 1] = member;
    }
    groups.push({ index: section.index, flags: file.u32(section.offset), signature: section.info, members });
  }
  return groups;
}
