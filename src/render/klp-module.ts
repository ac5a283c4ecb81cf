/** What `--klp-module` adds to the C output: the rest of a livepatch module's unit. */
export interface KlpModuleOptions {
  /** `--klp-module`: make the output a unit that builds into a livepatch module with kbuild. */
  klpModule?: boolean;
  /** `--atomic-replace`: the patch replaces every livepatch enabled before it (`.replace = true`). */
  atomicReplace?: boolean;
}

const INCLUDES = ['#include <linux/kernel.h>', '#include <linux/module.h>', '#include <linux/livepatch.h>', ''];

const MODULE_CODE = [
  '',
  'static int __init livepatch_init(void)',
  '{',
  '\treturn klp_enable_patch(&patch);',
  '}',
  '',
  'static void __exit livepatch_exit(void)',
  '{',
  '}',
  '',
  'module_init(livepatch_init);',
  'module_exit(livepatch_exit);',
  'MODULE_LICENSE("GPL");',
  'MODULE_INFO(livepatch, "Y");',
  '',
];

/**
 * The C output (klp_func arrays, klp_object array, klp_patch) as a livepatch module's own
 * unit: the kernel headers it needs first, then module init and exit around
 * klp_enable_patch(), the license and the livepatch modinfo tag. Built with kbuild
 * together with the units that define the new functions (the `.new_func` and `.new_name`
 * names, declared extern here), it makes the module.
 */
export function asKlpModule(c: string, options: KlpModuleOptions): string {
  if (!options.klpModule) return c;
  const [first, ...rest] = c.split('\n');
  let body = rest.join('\n');
  if (options.atomicReplace) body = body.replace(/(static struct klp_patch patch = \{\n[\s\S]*?)(\n\};)/, '$1\n\t.replace = true,$2');
  return [first, ...INCLUDES, body.replace(/\n$/, ''), ...MODULE_CODE].join('\n');
}
