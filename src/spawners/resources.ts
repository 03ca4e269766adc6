/** What a server (or the hub's work in a user's files) may use: the limits every spawner receives. */
export interface ResourceLimits {
  /** Memory limit, e.g. '2G' (the MEM_LIMIT convention). */
  memLimit?: string;
  /** CPU cores. */
  cpuLimit?: number;
}
