/**
 * SAML 2.0 service provider (`@node-saml/node-saml`): `GET <hub>/saml/login` sends an AuthnRequest to
 * the identity provider (HTTP-Redirect), `POST <hub>/saml/acs` receives its response (HTTP-POST), and
 * `GET <hub>/saml/metadata` publishes the SP's metadata for the IdP's admin. Assertions must be signed
 * by the IdP's certificate and answer a request this hub made (InResponseTo), within their validity
 * window, for this SP's entity id (audience); anything else is refused.
 *
 * The IdP's SSO URL and signing certificate come from its metadata (a file, or a URL read at start)
 * or from `entry_point` and `idp_cert`.
 */
import { readFileSync } from 'node:fs';
import { DOMParser } from '@xmldom/xmldom';
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { SamlConfig } from '../config/schema.js';
import type { JsonObject } from '../spawners/spawner.js';
import { type AuthResult, type Authenticator, type HubLogin, isValidUsername, normalizeUsername } from './authenticator.js';
import { applyGroupRules } from './group-rules.js';
import { anyone, page, withoutCaller } from '../rbac/route-policy.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** The SSO URL (HTTP-Redirect binding) and signing certificates of an IdP's metadata. */
export function parseIdpMetadata(xml: string): { entryPoint: string; certs: string[] } {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const sso = Array.from(doc.getElementsByTagNameNS(MD, 'SingleSignOnService')).find((e) => e.getAttribute('Binding') === REDIRECT_BINDING);
  const entryPoint = sso?.getAttribute('Location');
  if (!entryPoint) throw new Error('the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding');
  const certs: string[] = [];
  for (const key of Array.from(doc.getElementsByTagNameNS(MD, 'KeyDescriptor'))) {
    const use = key.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const cert of Array.from(key.getElementsByTagNameNS(DS, 'X509Certificate'))) certs.push((cert.textContent ?? '').replace(/\s+/g, ''));
  }
  if (certs.length === 0) throw new Error('the IdP metadata has no signing certificate');
  return { entryPoint, certs };
}

function attributeValues(profile: Profile, name: string): string[] {
  const v = (profile as Record<string, unknown>)[name] ?? (profile.attributes as Record<string, unknown> | undefined)?.[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export class SamlAuthenticator implements Authenticator {
  readonly kind = 'saml';
  readonly loginForm = null;
  readonly loginRedirect: { label: string; path: string; auto: boolean };
  private saml: Promise<SAML> | null = null;

  constructor(
    private readonly config: SamlConfig,
    private readonly listed: ReadonlySet<string>,
    private readonly log: Logger,
  ) {
    this.loginRedirect = { label: `Sign in with ${config.login_service}`, path: 'saml/login', auto: config.auto_login };
  }

  private async idp(): Promise<{ entryPoint: string; certs: string[] }> {
    const c = this.config;
    if (c.entry_point && c.idp_cert) return { entryPoint: c.entry_point, certs: [c.idp_cert.replace(/-----[A-Z ]+-----|\s+/g, '')] };
    if (c.idp_metadata_file) return parseIdpMetadata(readFileSync(c.idp_metadata_file, 'utf8'));
    const res = await fetch(c.idp_metadata_url!, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`reading the IdP metadata at ${c.idp_metadata_url} answered ${res.status}`);
    return parseIdpMetadata(await res.text());
  }

  /** The SP, built once the IdP's metadata is known (again after a failure). */
  private sp(): Promise<SAML> {
    this.saml ??= this.idp()
      .then(
        ({ entryPoint, certs }) =>
          new SAML({
            callbackUrl: this.config.acs_url,
            entryPoint,
            issuer: this.config.entity_id,
            audience: this.config.entity_id,
            idpCert: certs,
            wantAssertionsSigned: true,
            wantAuthnResponseSigned: false,
            validateInResponseTo: ValidateInResponseTo.always,
            requestIdExpirationPeriodMs: 10 * 60_000,
            acceptedClockSkewMs: 5_000,
            identifierFormat: null,
            disableRequestedAuthnContext: true,
          }),
      )
      .catch((err: unknown) => {
        this.saml = null;
        throw new Error(`SAML identity provider: ${(err as Error).message}`);
      });
    return this.saml;
  }

  async authenticate(): Promise<AuthResult | null> {
    return null; // no login form: logins go through the identity provider
  }

  registerRoutes(app: FastifyInstance, hub: HubLogin): void {
    app.get<{ Querystring: { next?: string } }>('/saml/login', page(anyone(), { beforeSecondFactor: true }), async (req, reply) => {
      const sp = await this.sp();
      const url = await sp.getAuthorizeUrlAsync(hub.safeNext(req.query.next) ?? '', req.host, {});
      return reply.redirect(url, 302);
    });

    app.get('/saml/metadata', withoutCaller('none: public metadata'), async (_req, reply) => {
      const sp = await this.sp();
      return reply.type('application/samlmetadata+xml').send(sp.generateServiceProviderMetadata(null, null));
    });

    // A cross-site POST from the IdP: the session cookie does not come with it (SameSite=Lax), and no
    // XSRF token can; the signed assertion answering our own request is what proves it.
    app.post<{ Body: Record<string, string | undefined> }>('/saml/acs', withoutCaller("the identity provider's signed SAML response"), async (req, reply) => {
      const body = req.body ?? {};
      if (!body.SAMLResponse) return hub.refuse(req, reply, 'The identity provider sent no SAML response. Please sign in again.');
      const sp = await this.sp();
      let profile: Profile | null;
      try {
        ({ profile } = await sp.validatePostResponseAsync({ SAMLResponse: body.SAMLResponse }));
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'SAML response refused');
        return hub.refuse(req, reply, 'The identity provider’s answer could not be verified. Please sign in again.');
      }
      if (!profile) return hub.refuse(req, reply, 'The identity provider’s answer holds no login. Please sign in again.');
      const outcome = this.resultFor(profile);
      if (typeof outcome === 'string') return hub.refuse(req, reply, outcome);
      await hub.completeLogin(req, reply, outcome, hub.safeNext(body.RelayState) ?? '');
      return reply;
    });
  }

  private resultFor(profile: Profile): AuthResult | string {
    const raw = this.config.username_attribute ? attributeValues(profile, this.config.username_attribute)[0] : profile.nameID;
    const name = normalizeUsername(raw ?? '');
    if (!isValidUsername(name)) return 'The identity provider gave no usable user name.';
    const groups = this.config.groups_attribute ? attributeValues(profile, this.config.groups_attribute) : [];
    const rules = applyGroupRules(name, groups, this.config, this.listed);
    if (typeof rules === 'string') return rules;
    const authState: JsonObject = { name_id: profile.nameID, session_index: profile.sessionIndex ?? null, groups };
    return { name, ...rules, authState };
  }
}
