import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdpMetadata } from '../../src/auth/saml.js';

const METADATA = `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.org">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>ENCRYPTIONCERT</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      SIGNING
      CERT
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.org/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.org/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;

test('IdP metadata: the redirect SSO URL and only the signing certificates', () => {
  assert.deepEqual(parseIdpMetadata(METADATA), { entryPoint: 'https://idp.example.org/redirect', certs: ['SIGNINGCERT'] });
});

test('IdP metadata without what the hub needs is a clear error', () => {
  assert.throws(() => parseIdpMetadata(METADATA.replace(/HTTP-Redirect/, 'SOAP')), /no SingleSignOnService with the HTTP-Redirect binding/);
  assert.throws(() => parseIdpMetadata(METADATA.replace(/use="signing"/, 'use="encryption"')), /no signing certificate/);
});
