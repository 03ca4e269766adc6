/**
 * A site-wide password in front of another form-based authenticator (workshops): the login form gets a
 * "Site password" field, checked in constant time before the authenticator behind it sees anything.
 * Alone (`class: shared-password`) the hub uses the dummy authenticator with that password instead.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JsonObject } from '../spawners/spawner.js';
import { SECOND_STEP_FIELD, type AuthRefusal, type AuthResult, type AuthSecondStep, type Authenticator, type HubLogin, type LoginForm, type LoginFormOptions, type LoginRequest, type RefreshResult } from './authenticator.js';

/** Hashes first, so the comparison takes the same time whatever the lengths. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export class SharedPasswordGate implements Authenticator {
  readonly kind: string;
  readonly loginForm: LoginFormOptions;

  constructor(
    private readonly inner: Authenticator & { loginForm: LoginFormOptions },
    private readonly password: string,
  ) {
    this.kind = inner.kind;
    this.loginForm = { ...inner.loginForm, sharedPasswordField: true };
  }

  async authenticate(form: LoginForm, request: LoginRequest): Promise<AuthResult | AuthRefusal | AuthSecondStep | null> {
    // A second step's ticket was handed out only after this check passed; the inner authenticator checks it
    // (one without second steps never sees the form without the site password).
    if (this.inner.loginForm.secondStep && form[SECOND_STEP_FIELD]) return this.inner.authenticate(form, request);
    if (!sameSecret(form.shared_password ?? '', this.password)) return { refused: 'The site password is wrong.' };
    return this.inner.authenticate(form, request);
  }

  registerRoutes(app: FastifyInstance, hub: HubLogin): void {
    this.inner.registerRoutes?.(app, hub);
  }

  requiredStep(user: { name: string }): Promise<string | null> {
    return this.inner.requiredStep ? this.inner.requiredStep(user) : Promise.resolve(null);
  }

  navLinks(user: { name: string; admin: boolean }): Array<{ label: string; path: string }> {
    return this.inner.navLinks?.(user) ?? [];
  }

  refresh(authState: JsonObject): Promise<RefreshResult> {
    return this.inner.refresh ? this.inner.refresh(authState) : Promise.resolve('unchanged');
  }

  logoutUrl(authState: JsonObject | null, req: FastifyRequest, hub: HubLogin): string | null {
    return this.inner.logoutUrl?.(authState, req, hub) ?? null;
  }
}
