import { grantsMatch, PASSWORD_FORMAT, schemaGrantTarget, TENANT_PRIVILEGES, tenantAccountName } from '../../activities/tenant-account';

const privs = TENANT_PRIVILEGES.join(', ');
const usage = "GRANT USAGE ON *.* TO `cm_t_x`@`127.0.0.1` IDENTIFIED BY PASSWORD '*22DF86EB537EC3E6B9B11FA3EFEAFE29E94FCF2F'";
const onDb = (db: string, p = privs): string => `GRANT ${p} ON \`${db}\`.* TO \`cm_t_x\`@\`127.0.0.1\``;

describe('tenantAccountName', () => {
  it('is cm_t_ and a hash of the tenant, short enough for MySQL 8 (32), stable and distinct', () => {
    const name = tenantAccountName('acme');
    expect(name).toMatch(/^cm_t_[0-9a-f]{24}$/);
    expect(name.length).toBeLessThanOrEqual(32);
    expect(tenantAccountName('acme')).toBe(name);
    expect(tenantAccountName('acme2')).not.toBe(name);
    expect(tenantAccountName('x'.repeat(500)).length).toBe(29);
  });
});

describe('schemaGrantTarget', () => {
  it('escapes the wildcards of a grant database name', () => {
    expect(schemaGrantTarget('acme_cronus')).toBe('`acme\\_cronus`.*');
    expect(schemaGrantTarget('a%b')).toBe('`a\\%b`.*');
    expect(schemaGrantTarget('we`ird')).toBe('`we``ird`.*');
  });
});

describe('grantsMatch', () => {
  const schemas = ['acme_one', 'acme_two'];
  it('accepts exactly the privileges on exactly the schemas, in any order', () => {
    expect(grantsMatch([usage, onDb('acme\\_one'), onDb('acme\\_two', [...TENANT_PRIVILEGES].reverse().join(', '))], schemas)).toBe(true);
    // a routine the account created gives it routine-level grants: inside a tenant schema, fine
    expect(grantsMatch([usage, onDb('acme\\_one'), onDb('acme\\_two'), 'GRANT EXECUTE, ALTER ROUTINE ON PROCEDURE `acme_one`.`p` TO `cm_t_x`@`127.0.0.1`'], schemas)).toBe(true);
  });
  it('refuses anything else', () => {
    expect(grantsMatch([usage, onDb('acme\\_one')], schemas)).toBe(false); // a schema missing
    expect(grantsMatch([usage, onDb('acme\\_one'), onDb('acme\\_two'), onDb('other')], schemas)).toBe(false); // another schema
    expect(grantsMatch([usage, onDb('acme_one'), onDb('acme\\_two')], schemas)).toBe(false); // unescaped: a pattern
    expect(grantsMatch([usage, onDb('acme\\_one', `${privs}, EVENT`), onDb('acme\\_two')], schemas)).toBe(false); // one privilege too many
    expect(grantsMatch([usage, onDb('acme\\_one', 'SELECT'), onDb('acme\\_two')], schemas)).toBe(false); // too few
    expect(grantsMatch([usage, `${onDb('acme\\_one')} WITH GRANT OPTION`, onDb('acme\\_two')], schemas)).toBe(false);
    expect(grantsMatch(['GRANT FILE ON *.* TO `cm_t_x`@`127.0.0.1`', onDb('acme\\_one'), onDb('acme\\_two')], schemas)).toBe(false);
    expect(grantsMatch([usage, onDb('acme\\_one'), onDb('acme\\_two'), 'GRANT `admin` TO `cm_t_x`@`127.0.0.1`'], schemas)).toBe(false); // a role
    expect(grantsMatch([usage, onDb('acme\\_one'), onDb('acme\\_two'), 'GRANT SELECT ON `mysql`.`user` TO `cm_t_x`@`127.0.0.1`'], schemas)).toBe(false);
  });
});

describe('PASSWORD_FORMAT', () => {
  it('recognises a password the module makes and not ordinary text', () => {
    expect('cmT1-' + 'aB3_-'.repeat(6) + 'xy').toMatch(PASSWORD_FORMAT);
    expect('d7b6dd5ba18d40329da5cc7a5852730274c6cfd80c1a7af5a99101f9c92ceaa2 cloud-migration/hfa_7c72e1').not.toMatch(PASSWORD_FORMAT);
  });
});
