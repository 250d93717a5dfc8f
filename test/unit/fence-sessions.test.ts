// Which sessions the fence stops (activities/fence.ts sessionVerdict), as pure logic.
import { sessionVerdict, type SessionRule } from '../../activities/fence';
import { isExempt, parseDefiner, schemaMatches } from '../../activities/fence-scope';

const rule: SessionRule = {
  writers: new Set(['app', 'dba']), // 'dba'@'%' locked; 'dba'@'10.0.0.5' exempt
  schemas: new Set(['acme_cronus']),
  eventSchemas: new Set(['reports']),
  spared: new Set(['root', 'dba']),
};

it('stops every session of a locked account, even one whose user name is also exempt at another host', () => {
  expect(sessionVerdict({ user: 'app', db: null, command: 'Sleep' }, rule)).toBe('writer');
  expect(sessionVerdict({ user: 'dba', db: null, command: 'Query' }, rule)).toBe('writer');
});

it("stops event executions whatever their definer, even cm's own, but not the scheduler", () => {
  expect(sessionVerdict({ user: 'root', db: 'reports', command: 'Connect' }, rule)).toBe('writer');
  expect(sessionVerdict({ user: 'root', db: 'acme_cronus', command: 'Connect' }, rule)).toBe('writer');
  expect(sessionVerdict({ user: 'event_scheduler', db: null, command: 'Daemon' }, rule)).toBeUndefined();
});

it("leaves cm's own client sessions; stops any other session using the schemas once", () => {
  expect(sessionVerdict({ user: 'root', db: 'acme_cronus', command: 'Query' }, rule)).toBeUndefined();
  expect(sessionVerdict({ user: 'reader', db: 'acme_cronus', command: 'Sleep' }, rule)).toBe('reader');
  expect(sessionVerdict({ user: 'reader', db: 'other', command: 'Sleep' }, rule)).toBeUndefined();
});

it('parses definers and exemptions, and matches schema patterns as the server does', () => {
  expect(parseDefiner('app@%')).toEqual({ user: 'app', host: '%' });
  expect(parseDefiner('a@b@localhost')).toEqual({ user: 'a@b', host: 'localhost' });
  expect(isExempt({ user: 'dba', host: '%' }, ['dba'])).toBe(true);
  expect(isExempt({ user: 'dba', host: '%' }, ["'dba'@'10.0.0.5'"])).toBe(false);
  expect(isExempt({ user: 'dba', host: '10.0.0.5' }, ['dba@10.0.0.5'])).toBe(true);
  expect(isExempt({ user: 'dbadmin', host: '%' }, ['dba'])).toBe(false);
  expect(schemaMatches('acme\\_%', 'acme_cronus')).toBe(true);
  expect(schemaMatches('acme\\_%', 'acmeXcronus')).toBe(false);
  expect(schemaMatches('acme_%', 'acmeXcronus')).toBe(true);
  expect(schemaMatches('ACME_CRONUS', 'acme_cronus')).toBe(true);
});
