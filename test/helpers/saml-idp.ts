/**
 * A SAML 2.0 identity provider for tests, built with `samlify` (a maintained SAML library): its own
 * key and self-signed certificate (openssl), metadata at `/metadata`, and an SSO endpoint (`/sso`,
 * HTTP-Redirect) that answers the hub's AuthnRequest with a signed response for whoever the test names
 * in `nextUser`, as an HTML form posting to the hub's ACS (what a browser would submit).
 * `unsignedResponse` makes an answer whose assertion is not signed, to see it refused.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as samlify from 'samlify';
import { tempDir } from './tmp.js';

// The hub validates what it receives; the IdP side only produces, so skip samlify's XSD checks.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

export interface SamlIdp {
  url: string;
  metadataUrl: string;
  metadata: string;
  nextUser: { name: string; groups: string[] };
  /** A response to the given request (from the hub's redirect URL) whose assertion is not signed. */
  unsignedResponse(authnRedirectUrl: string): Promise<string>;
  stop(): Promise<void>;
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startSamlIdp(sp: { entityId: string; acsUrl: string }): Promise<SamlIdp> {
  const tmp = await tempDir('ganymede-saml-');
  const keyFile = path.join(tmp.path, 'idp.key');
  const certFile = path.join(tmp.path, 'idp.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=test-idp'], { stdio: 'ignore' });
  // Listening first, on port 0 (the kernel picks a free port as it binds): the IdP's URLs hold the port.
  let handle: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  server.unref(); // until it is handed over: a throw while setting up must not keep the test process alive
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idp = samlify.IdentityProvider({
    entityID: `${url}/metadata`,
    privateKey: readFileSync(keyFile),
    signingCert: readFileSync(certFile),
    singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${url}/sso` }],
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'],
  });
  const spEntity = (signed: boolean) =>
    samlify.ServiceProvider({
      entityID: sp.entityId,
      assertionConsumerService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: sp.acsUrl }],
      wantAssertionsSigned: signed,
      authnRequestsSigned: false,
    });

  const state: SamlIdp = {
    url,
    metadataUrl: `${url}/metadata`,
    metadata: idp.getMetadata(),
    nextUser: { name: '', groups: [] },
    unsignedResponse: async () => '',
    stop: async () => undefined,
  };

  /** A base64 SAML response for the request in this redirect URL. */
  async function respond(redirectUrl: string, signed: boolean): Promise<{ response: string; relayState: string }> {
    const query = Object.fromEntries(new URL(redirectUrl).searchParams);
    const target = spEntity(signed);
    const request = await idp.parseLoginRequest(target, 'redirect', { query, octetString: '' });
    const requestId = (request.extract as { request?: { id?: string } }).request?.id ?? '';
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60_000).toISOString();
    const user = state.nextUser;
    const values: Record<string, string> = {
      ID: `_${randomUUID()}`,
      AssertionID: `_${randomUUID()}`,
      Destination: sp.acsUrl,
      Audience: sp.entityId,
      SubjectRecipient: sp.acsUrl,
      Issuer: `${url}/metadata`,
      IssueInstant: now.toISOString(),
      InResponseTo: requestId,
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: new Date(now.getTime() - 1000).toISOString(),
      ConditionsNotOnOrAfter: later,
      SubjectConfirmationDataNotOnOrAfter: later,
      NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      NameID: escapeXml(user.name),
      AuthnStatement: `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="_s${randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
      AttributeStatement:
        '<saml:AttributeStatement><saml:Attribute Name="groups">' +
        user.groups.map((g) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(g)}</saml:AttributeValue>`).join('') +
        '</saml:Attribute></saml:AttributeStatement>',
    };
    const { context } = await idp.createLoginResponse(target, request as unknown as Parameters<typeof idp.createLoginResponse>[1], 'post', {}, (template: string) => ({
      id: values.ID!,
      context: template.replace(/\{(\w+)\}/g, (_m, tag: string) => values[tag] ?? ''),
    }));
    return { response: context, relayState: query.RelayState ?? '' };
  }
  state.unsignedResponse = async (redirectUrl) => (await respond(redirectUrl, false)).response;

  handle = async (req, res) => {
    try {
      const here = new URL(req.url ?? '/', url);
      if (here.pathname === '/metadata') {
        res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
        res.end(state.metadata);
        return;
      }
      if (here.pathname === '/sso') {
        const { response, relayState } = await respond(here.href, true);
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<!doctype html><form method="post" action="${sp.acsUrl}"><input type="hidden" name="SAMLResponse" value="${response}">` +
            `<input type="hidden" name="RelayState" value="${escapeXml(relayState)}"><button>Continue</button></form>`,
        );
        return;
      }
      res.writeHead(404);
      res.end();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  };
  state.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await tmp.cleanup();
  };
  server.ref();
  return state;
}
