import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import { repoRoot } from './cli.js';

const schema = JSON.parse(readFileSync(join(repoRoot, 'schema', 'report.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

/** Every report a test produces goes through the shipped schema. */
export function expectValidReport(report: unknown): void {
  const ok = validate(report);
  expect(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 2)).toBe(true);
}
