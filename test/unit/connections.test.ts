import { connectionEnvVar, DEFAULT_MYSQL_URL, describeUrl, resolveConnectionUrl } from '../../activities/connections';

describe('connectionEnvVar', () => {
  it('upper-cases and replaces anything but letters and digits with _', () => {
    expect(connectionEnvVar('local')).toBe('CM_CONN_LOCAL_URL');
    expect(connectionEnvVar('onprem')).toBe('CM_CONN_ONPREM_URL');
    expect(connectionEnvVar('cloud-eu.1')).toBe('CM_CONN_CLOUD_EU_1_URL');
    expect(connectionEnvVar('Cloud_EU')).toBe('CM_CONN_CLOUD_EU_URL');
  });
});

describe('resolveConnectionUrl', () => {
  it('reads a named connection from its variable', () => {
    expect(resolveConnectionUrl('cloud-eu', { CM_CONN_CLOUD_EU_URL: 'mysql://u:p@cloud:3307/x' })).toBe('mysql://u:p@cloud:3307/x');
  });

  it('prefers CM_CONN_LOCAL_URL for local, then MYSQL_URL, then the default', () => {
    expect(resolveConnectionUrl('local', { CM_CONN_LOCAL_URL: 'mysql://a', MYSQL_URL: 'mysql://b' })).toBe('mysql://a');
    expect(resolveConnectionUrl('local', { MYSQL_URL: 'mysql://b' })).toBe('mysql://b');
    expect(resolveConnectionUrl('local', {})).toBe(DEFAULT_MYSQL_URL);
    expect(DEFAULT_MYSQL_URL).toBe('mysql://root@127.0.0.1:3306');
  });

  it('does not fall back to MYSQL_URL for other names', () => {
    expect(() => resolveConnectionUrl('onprem', { MYSQL_URL: 'mysql://b' })).toThrow(
      "unknown connection 'onprem': set CM_CONN_ONPREM_URL on the worker",
    );
  });

  it('fails non-retryably on an unknown name, naming the variable', () => {
    let err: unknown;
    try {
      resolveConnectionUrl('cloud-eu', {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe("unknown connection 'cloud-eu': set CM_CONN_CLOUD_EU_URL on the worker");
    expect(err).toMatchObject({ nonRetryable: true, type: 'UnknownConnection' });
  });

  it('reads process.env by default', () => {
    const name = 'unit_test_conn_xyz';
    const variable = connectionEnvVar(name);
    process.env[variable] = 'mysql://from-env';
    try {
      expect(resolveConnectionUrl(name)).toBe('mysql://from-env');
    } finally {
      delete process.env[variable];
    }
    expect(() => resolveConnectionUrl(name)).toThrow(variable);
  });
});

describe('describeUrl', () => {
  it('gives host and port', () => {
    expect(describeUrl('mysql://root@127.0.0.1:3306')).toBe('127.0.0.1:3306');
    expect(describeUrl('mysql://db.example.com:3307/schema')).toBe('db.example.com:3307');
  });

  it('defaults the port to 3306', () => {
    expect(describeUrl('mysql://root@db.internal/x')).toBe('db.internal:3306');
  });

  it('never includes user or password', () => {
    const url = 'mysql://admin:S3cr3t%40pw@db.example.com:3310/app?ssl=true';
    const d = describeUrl(url);
    expect(d).toBe('db.example.com:3310');
    expect(d).not.toContain('S3cr3t');
    expect(d).not.toContain('admin');
    const odd = describeUrl('mysql://admin:p@ss:w0rd@host:3306');
    expect(odd).not.toContain('ss:w0rd');
    expect(odd).not.toContain('p@');
  });

  it('says so for an unparsable URL, without echoing it', () => {
    expect(describeUrl('not a url')).toBe('an unparsable URL');
    expect(describeUrl('mysql://root:hunter2@[bad')).toBe('an unparsable URL');
    expect(describeUrl('')).toBe('an unparsable URL');
  });

  it('does not leak the password of a URL without a scheme either', () => {
    expect(describeUrl('root:hunter2@localhost:3306')).not.toContain('hunter2');
    expect(describeUrl('root:hunter2 at localhost')).not.toContain('hunter2');
  });
});
