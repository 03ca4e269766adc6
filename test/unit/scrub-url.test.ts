/** URLs in the log carry no token, OAuth code or state, or XSRF token. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scrubUrl } from '../../src/http/scrub-url.js';

test('secret query values are replaced, everything else is kept as written', () => {
  assert.equal(scrubUrl('/user/alice/api/kernels?token=abc123&x=1'), '/user/alice/api/kernels?token=[secret]&x=1');
  assert.equal(scrubUrl('/user/a/oauth_callback?code=c0de&state=s7&next=%2Fx'), '/user/a/oauth_callback?code=[secret]&state=[secret]&next=%2Fx');
  assert.equal(scrubUrl('/hub/api/x?_xsrf=t&access_token=u&api%5Fkey=v'), '/hub/api/x?_xsrf=[secret]&access_token=[secret]&api%5Fkey=[secret]');
  assert.equal(scrubUrl('/user/a/tree?path=notes#token=here'), '/user/a/tree?path=notes#token=here');
  assert.equal(scrubUrl('/plain/path'), '/plain/path');
  assert.equal(scrubUrl(undefined), '');
  assert.equal(scrubUrl('/x?%E0%A4%A=1&Token=2'), '/x?%E0%A4%A=1&Token=[secret]');
});
