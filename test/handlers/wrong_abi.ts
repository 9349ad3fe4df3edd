// Test handler: speaks an ABI this host does not.
export const ABI_VERSION: u32 = 99;
export function process(batch: usize, count: u32): void {}
