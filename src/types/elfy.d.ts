declare module 'elfy' {
  interface ElfyHeader {
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
  interface ElfySection {
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
    parseSection(entry: Buffer, header: ElfyHeader, buf: Buffer): ElfySection;
  }
  const elfy: {
    Parser: typeof Parser;
    constants: { sectType: Record<number, string> };
    parse(buf: Buffer): unknown;
  };
  export default elfy;
}
