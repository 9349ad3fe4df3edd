// What the running kernel can be expected to do, for assertions that hold only from some version on.
import { release } from 'node:os';

/** Whether the running kernel is at least major.minor. */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [, maj, min] = /^(\d+)\.(\d+)/.exec(release()) ?? [];
  return Number(maj) > major || (Number(maj) === major && Number(min) >= minor);
}
