/**
 * Resource limits as the config writes them (JupyterHub's conventions: mem_limit "2G" with binary
 * multiples, cpu_limit in cores) turned into what the launcher enforces with a server's cgroup.
 */
import type { ResourceLimits } from '../spawner.js';

import type { ServerLimits } from './launcher/client.js';

const MULTIPLIERS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "512M" → 536870912, as JupyterHub's ByteSpecification reads mem_limit (K, M, G, T are powers of 1024). */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${JSON.stringify(text)} (e.g. 512M or 2G)`);
  const bytes = Math.floor(Number(match[1]) * MULTIPLIERS[match[2]!.toUpperCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`not a usable size: ${JSON.stringify(text)}`);
  return bytes;
}

/** What the launcher writes into a server's cgroup. */
export function cgroupLimits(resources: ResourceLimits, pidsLimit: number): ServerLimits {
  return {
    ...(resources.memLimit ? { memoryBytes: parseByteSize(resources.memLimit) } : {}),
    ...(resources.cpuLimit ? { cpu: resources.cpuLimit } : {}),
    pids: pidsLimit,
  };
}

/** What people read when the memory limit stopped their server. */
export function memoryLimitMessage(memLimit: string | undefined): string {
  return `The server was stopped: it used more than its memory limit${memLimit ? ` of ${memLimit}` : ''}`;
}
