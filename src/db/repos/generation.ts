/**
 * A counter bumped by every write that can change who a token or cookie identifies or what they may do
 * (tokens revoked, users renamed, deleted or made admin, roles and groups changed). Caches of identities
 * and scopes remember the generation they were filled at and refill when it moved on, so such writes
 * take effect at once without each writer knowing every cache.
 */
export class AuthGeneration {
  private n = 0;

  get value(): number {
    return this.n;
  }

  bump(): void {
    this.n++;
  }
}
