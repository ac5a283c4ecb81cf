import { UsageError } from '../errors.js';
import { cRenderer } from './c.js';
import { htmlRenderer } from './html.js';
import { jsonRenderer } from './json.js';
import type { RenderOptions, Renderer, ReportKind, Reports } from './renderer.js';
import { textRenderer } from './text.js';
import { renderAuditText } from './audit-text.js';

export type { RenderOptions } from './renderer.js';

/**
 * The output formats by the name `--format` takes, in the order its help lists them. A new
 * format is a module exporting a `Renderer`, and one line here.
 */
const RENDERERS: Readonly<Record<string, Renderer>> = {
  text: { ...textRenderer, audit: renderAuditText },
  json: jsonRenderer,
  c: cRenderer,
  html: htmlRenderer,
};

/** The formats that can show at least one of these kinds of report: a command's `--format` choices. */
export function formatsFor(...kinds: ReportKind[]): string[] {
  return Object.keys(RENDERERS).filter((format) => kinds.some((kind) => RENDERERS[format][kind] !== undefined));
}

/** A report in a format, as the text to write. */
export function render<K extends ReportKind>(format: string, kind: K, report: Reports[K], options: RenderOptions = {}): string {
  const renderer = Object.hasOwn(RENDERERS, format) ? RENDERERS[format][kind] : undefined;
  if (!renderer) throw new UsageError(`--format ${format} cannot show ${DESCRIPTIONS[kind]} (formats that can: ${formatsFor(kind).join(', ')})`);
  return renderer(report, options);
}

const DESCRIPTIONS: Record<ReportKind, string> = {
  compare: 'the comparison of two objects',
  tree: 'the comparison of two trees',
  inspect: 'an inspected object',
  replace: 'an atomic replace',
  audit: 'a livepatch audit',
};
