import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyId, newKey, RuntimeKeyFiles } from '../../activities/runtime-key';

describe('RuntimeKeyFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cm-keyfiles-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one key per tenant in its folder, and names the host by CM_RUNTIME_NAME', () => {
    const files = new RuntimeKeyFiles({ CM_RUNTIME_KEY_DIR: dir, CM_RUNTIME_NAME: 'host-a' });
    const key = newKey();
    files.write('acme', key);
    expect(files.read('acme')).toBe(key);
    expect(keyId(key)).toMatch(/^[0-9a-f]{8}$/);
    expect(files.runtimeName).toBe('host-a');
    expect(files.read('nobody')).toBeUndefined();
  });

  it('never writes outside its folder: a name that is not a tenant name is refused', () => {
    const files = new RuntimeKeyFiles({ CM_RUNTIME_KEY_DIR: dir });
    expect(() => files.write('../escape', newKey())).toThrow("not a tenant name: '../escape'");
    expect(() => files.path('a/b')).toThrow(/not a tenant name/);
    expect(files.read('../escape')).toBeUndefined();
  });
});
