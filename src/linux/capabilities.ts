// Capability sets: names from the config → the bit masks the native
// finalize step applies, checked against what this host can grant.
import { CAPABILITY_NAMES, capabilityNumber } from '../config/names.js';
import type { Process } from '../config/types.js';

export interface CapabilityMasks {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

type CapSets = NonNullable<Process['capabilities']>;

/**
 * Names were checked where they came in (config/checks.ts for config and
 * process files, exec for --cap): one that was not is a bug, not bad input.
 */
function maskOf(names: readonly string[] | undefined, field: string): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = capabilityNumber(name);
    if (n === undefined) throw new Error(`internal error: process.capabilities.${field} holds "${name}", which no check refused`);
    mask |= 1n << BigInt(n);
  }
  return mask;
}

export function planCapabilities(caps: CapSets | undefined): CapabilityMasks {
  const permitted = maskOf(caps?.permitted, 'permitted');
  const inheritable = maskOf(caps?.inheritable, 'inheritable');
  return {
    bounding: maskOf(caps?.bounding, 'bounding'),
    effective: maskOf(caps?.effective, 'effective'),
    permitted,
    inheritable,
    // The kernel only raises an ambient capability that is permitted and
    // inheritable; runc skips the others (its default spec lists ambient
    // capabilities without inheritable ones), and so do we.
    ambient: maskOf(caps?.ambient, 'ambient') & permitted & inheritable,
  };
}

/** Names of the capabilities in `mask`, for messages. */
export function capabilityNames(mask: bigint, names: readonly string[]): string[] {
  return names.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/**
 * Capabilities this host cannot grant (absent from our own bounding set):
 * asking for one must fail at create, naming it, not silently run without it.
 */
export function missingFromHost(masks: CapabilityMasks, hostBounding: bigint): bigint {
  const wanted = masks.bounding | masks.effective | masks.permitted | masks.inheritable | masks.ambient;
  return wanted & ~hostBounding;
}

/** planCapabilities, refusing (naming them) the capabilities this host's bounding set lacks. */
export function planHostCapabilities(caps: CapSets | undefined, hostBounding: bigint): CapabilityMasks {
  const masks = planCapabilities(caps);
  const missing = missingFromHost(masks, hostBounding);
  if (missing) {
    throw new Error(`process.capabilities: not in this host's bounding set, so they cannot be granted: ${capabilityNames(missing, CAPABILITY_NAMES).join(', ')}`);
  }
  return masks;
}
