import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_STATUS } from './http-errors.js';
import { declaresResponse, openApiDocument } from './openapi.js';

describe('the OpenAPI document and the error catalogue', () => {
  it('lists exactly the catalogue\'s codes in the error schema', () => {
    const listed = openApiDocument.components.schemas.ErrorBody.properties.error.properties.code.enum;
    assert.deepEqual([...listed].sort(), Object.keys(ERROR_STATUS).sort());
  });

  it('documents every route-level error code under the status the catalogue gives it', () => {
    const text = JSON.stringify(openApiDocument.paths);
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      if (code === 'method_not_allowed') continue; // answered for any undeclared method, not per operation
      const declared = Object.entries(openApiDocument.paths).some(([route, operations]) =>
        Object.entries(operations).some(([method, op]) =>
          typeof op === 'object' && op !== null && 'responses' in op && declaresResponse(route, method, status)
            && JSON.stringify((op.responses as Record<string, unknown>)[String(status)]).includes(`\`${code}\``)));
      assert.ok(declared, `${code} (${status}) is documented`);
    }
    assert.ok(text.length > 0);
  });

  it('declares what the tests rely on', () => {
    assert.equal(declaresResponse('/v1/tasks/{name}', 'POST', 503), true);
    assert.equal(declaresResponse('/v1/tasks/{name}', 'POST', 418), false);
    assert.equal(declaresResponse('/v1/jobs/{id}', 'DELETE', 409), true);
    assert.equal(declaresResponse('/nope', 'GET', 200), false);
  });
});
