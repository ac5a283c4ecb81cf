import type { Renderer } from './renderer.js';

const indented = (value: unknown) => JSON.stringify(value, null, 2) + '\n';
/** A tree's report runs to tens of megabytes: written without indentation, which halves it. */
const compact = (value: unknown) => JSON.stringify(value) + '\n';

/** The reports as they are (design.md §7; `schema/report.schema.json`). */
export const jsonRenderer: Renderer = {
  compare: indented,
  tree: compact,
  inspect: indented,
  replace: indented,
  audit: indented,
};
