declare module 'elfy' {
  export interface ElfyHeader {
    class: '32' | '64';
    endian: 'lsb' | 'msb';
    type: string | undefined;
    machine: string | undefined;
    shoff: number;
    shentsize: number;
    shnum: number;
    shstrndx: number;
    [key: string]: unknown;
  }
  export interface ElfySection {
    name: number;
    type: string | number;
    addr: number;
    off: number;
    size: number;
    link: number;
    info: number;
    [key: string]: unknown;
  }
  class Parser {
    parseHeader(buf: Buffer): ElfyHeader;
    /**
     * One section header from the start of `entry`. `file` is only sliced, for the
     * section's bytes (`data`, left untyped here: the reader does not use it).
     */
    parseSection(entry: Buffer, header: ElfyHeader, file: { slice(start: number, end: number): unknown }): ElfySection;
  }
  const elfy: {
    Parser: typeof Parser;
    constants: { sectType: Record<number, string> };
    parse(buf: Buffer): unknown;
  };
  export default elfy;
}
