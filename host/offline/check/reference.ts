// check --reference: the user's model, an ES module, loaded where the check runs (its worker).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InterfaceConfig } from '../../dataplane/iface-config.js';
import { UserError } from '../../lib/errors.js';
import type { Reference } from './properties.js';

/** --reference: the model's function, default export or `reference`. */
export async function loadReference(path: string): Promise<Reference> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`--reference ${path} cannot be loaded as an ES module: ${(err as Error).message}`);
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.reference;
  if (typeof fn !== 'function')
    throw new UserError(
      `--reference ${path} exports no function: export default (or export const reference) (frame, config) => frame | null`,
    );
  return fn as (frame: Uint8Array, config: InterfaceConfig) => Uint8Array | null;
}
