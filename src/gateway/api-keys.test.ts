import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiKeys } from './api-keys.js';

describe('ApiKeys', () => {
  const keys = new ApiKeys(['first-key-0123456789', 'second-key-0123456789']);

  it('accepts each key as a bearer token and tags it with a stable owner', () => {
    const a = keys.check('Bearer first-key-0123456789');
    const b = keys.check('bearer   second-key-0123456789');
    assert.match(a!, /^[0-9a-f]{12}$/);
    assert.ok(b !== undefined && b !== a);
    assert.equal(new ApiKeys(['first-key-0123456789']).check('Bearer first-key-0123456789'), a, 'the tag depends on the key only');
  });

  it('refuses anything else', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic first-key-0123456789', 'Bearer first-key-012345678', 'Bearer first-key-01234567890', 'first-key-0123456789']) {
      assert.equal(keys.check(header), undefined, String(header));
    }
  });
});
