// No Docker engine runs here, so the production-like deployment is checked by its structure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: unknown;
  deploy?: { replicas?: number };
}

const compose = parse(readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const s = compose.services;

describe('docker-compose.yml', () => {
  it('has Temporal on MySQL 8, its UI, the source and target MySQL 8 servers, and workers of this project', () => {
    expect(Object.keys(s).sort()).toEqual(['source-mysql', 'target-mysql', 'temporal', 'temporal-db', 'temporal-ui', 'worker']);
    expect(s['temporal-db'].image).toBe('mysql:8.0');
    expect(s['source-mysql'].image).toBe('mysql:8.0');
    expect(s['target-mysql'].image).toBe('mysql:8.0');
    expect(s.temporal.image).toMatch(/^temporalio\/auto-setup:/);
    expect(s.temporal.environment).toMatchObject({ DB: 'mysql8', MYSQL_SEEDS: 'temporal-db' });
    expect(s['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(s.worker.build).toBe('.');
    expect(s.worker.command).toEqual(['worker']);
    expect(s.worker.deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('starts things in dependency order, on health', () => {
    expect(s.temporal.depends_on).toEqual({ 'temporal-db': { condition: 'service_healthy' } });
    expect(s.worker.depends_on).toEqual({
      temporal: { condition: 'service_healthy' },
      'source-mysql': { condition: 'service_healthy' },
      'target-mysql': { condition: 'service_healthy' },
    });
    for (const name of ['temporal-db', 'temporal', 'source-mysql', 'target-mysql']) expect(s[name].healthcheck).toBeDefined();
  });

  it('exposes the frontend and the UI, and points workers at Temporal and both databases by connection name', () => {
    expect(s.temporal.ports).toContain('7233:7233');
    expect(s['temporal-ui'].ports).toContain('8233:8080');
    expect(s['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const env = s.worker.environment!;
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env.CM_TASK_QUEUE).toBe('cloud-migration');
    expect(env.CM_CONN_ONPREM_URL).toMatch(/^mysql:\/\/root:\$\{SOURCE_DB_PASSWORD:-source\}@source-mysql:3306$/);
    expect(env.CM_CONN_CLOUD_URL).toMatch(/@target-mysql:3306$/);
    // The cloud target is strict, as the migration expects.
    expect(s['target-mysql'].command?.join(' ')).toMatch(/--sql-mode=STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE/);
  });
});
