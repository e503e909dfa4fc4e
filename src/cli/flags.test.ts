import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MANAGER_ADDRESS, managerFlag } from './flags.js';

describe('managerFlag', () => {
  it('takes --manager first, then SLUICE_MANAGER, then the local default', () => {
    const saved = process.env['SLUICE_MANAGER'];
    try {
      delete process.env['SLUICE_MANAGER'];
      assert.equal(managerFlag({}), DEFAULT_MANAGER_ADDRESS);
      assert.equal(DEFAULT_MANAGER_ADDRESS, '127.0.0.1:7400'); // what `sluice dev` listens on
      process.env['SLUICE_MANAGER'] = '10.0.0.5:7400';
      assert.equal(managerFlag({}), '10.0.0.5:7400');
      assert.equal(managerFlag({ manager: '127.0.0.1:9000' }), '127.0.0.1:9000');
    } finally {
      if (saved === undefined) delete process.env['SLUICE_MANAGER'];
      else process.env['SLUICE_MANAGER'] = saved;
    }
  });
});
