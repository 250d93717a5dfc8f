import { NO_PRIMARY_KEY_WARNING, NOT_MIGRATED_PERMISSIONS, planTable } from '../../activities/assess';
import type { ColumnMeta, TableMeta } from '../../activities/introspect';

const company = { source: 'cronus', target: 'acme_cronus' };

function col(name: string, dataType = 'int', over: Partial<ColumnMeta> = {}): ColumnMeta {
  return { name, dataType, columnType: dataType, nullable: false, generated: false, ...over };
}
function meta(name: string, over: Partial<TableMeta> = {}): TableMeta {
  return {
    schema: 'cronus', name, engine: 'InnoDB', estimatedRows: 1234, avgRowLength: 100,
    columns: [col('id'), col('description', 'varchar')], primaryKey: ['id'], ...over,
  };
}

describe('planTable', () => {
  it('plans a plain InnoDB table with an integer key: splittable, no findings', () => {
    expect(planTable(meta('item'), company)).toEqual({
      plan: {
        key: 'cronus.item', sourceSchema: 'cronus', targetSchema: 'acme_cronus', table: 'item',
        hasPrimaryKey: true, splittable: true, estimatedRows: 1234,
      },
      findings: [],
    });
  });

  it('is not splittable with a composite or non-integer key', () => {
    const composite = planTable(meta('line', { columns: [col('doc'), col('line')], primaryKey: ['doc', 'line'] }), company);
    expect(composite.plan.splittable).toBe(false);
    expect(composite.plan.hasPrimaryKey).toBe(true);
    expect(composite.findings).toEqual([]);
    const text = planTable(meta('code', { columns: [col('code', 'varchar')], primaryKey: ['code'] }), company);
    expect(text.plan.splittable).toBe(false);
    const big = planTable(meta('big', { columns: [col('id', 'bigint')] }), company);
    expect(big.plan.splittable).toBe(true);
  });

  it.each(['user', 'users', 'User_Setup', 'user_personalization', 'permission', 'Permissions', 'permission_set', 'PERMISSION_SETS', 'access_control'])(
    'does not migrate permission/user table %s, by design and without a finding',
    (name) => {
      const { plan, findings } = planTable(meta(name), company);
      expect(plan.notMigratedReason).toBe(NOT_MIGRATED_PERMISSIONS);
      expect(plan.notMigratedReason).toBe(
        'by design: permissions and users work differently in the cloud; set them up online (see the Setup Checklist)',
      );
      expect(findings).toEqual([]);
    },
  );

  it('migrates tables that only look like permission tables', () => {
    for (const name of ['user_log', 'my_users', 'permission_history', 'usersx']) {
      expect(planTable(meta(name), company).plan.notMigratedReason).toBeUndefined();
    }
  });

  it('does not migrate a table with a spatial column, naming the first such column, with an error finding', () => {
    const m = meta('site', { columns: [col('id'), col('name', 'varchar'), col('loc', 'point'), col('area', 'polygon')] });
    const { plan, findings } = planTable(m, company);
    expect(plan.notMigratedReason).toBe('unsupported column type point in column loc');
    expect(findings).toEqual([{ severity: 'error', table: 'cronus.site', message: 'unsupported column type point in column loc' }]);
  });

  it.each(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection'])(
    'treats %s as spatial',
    (type) => {
      expect(planTable(meta('g', { columns: [col('id'), col('g', type)] }), company).plan.notMigratedReason).toBe(`unsupported column type ${type} in column g`);
    },
  );

  it('gives the permission reason (not the spatial one) to a permission table with a spatial column', () => {
    const { plan, findings } = planTable(meta('user', { columns: [col('id'), col('home', 'point')] }), company);
    expect(plan.notMigratedReason).toBe(NOT_MIGRATED_PERMISSIONS);
    expect(findings).toEqual([]);
  });

  it('warns about a table without a primary key: standing warning and a warning finding', () => {
    const { plan, findings } = planTable(meta('log', { primaryKey: [] }), company);
    expect(plan).toEqual({
      key: 'cronus.log', sourceSchema: 'cronus', targetSchema: 'acme_cronus', table: 'log',
      hasPrimaryKey: false, splittable: false, estimatedRows: 1234, warning: NO_PRIMARY_KEY_WARNING,
    });
    expect(NO_PRIMARY_KEY_WARNING).toBe('no primary key: change tracking is impossible, so the table is copied in full on every run');
    expect(findings).toEqual([{ severity: 'warning', table: 'cronus.log', message: NO_PRIMARY_KEY_WARNING }]);
  });

  it('reports a non-InnoDB engine, whatever its case', () => {
    const { plan, findings } = planTable(meta('old', { engine: 'MyISAM' }), company);
    expect(plan.notMigratedReason).toBeUndefined();
    expect(findings).toEqual([
      { severity: 'warning', table: 'cronus.old', message: 'engine MyISAM is not transactional; the target table is created as InnoDB' },
    ]);
    expect(planTable(meta('ok', { engine: 'innodb' }), company).findings).toEqual([]);
    expect(planTable(meta('ok', { engine: 'INNODB' }), company).findings).toEqual([]);
  });

  it('reports identifiers that need quoting (table and columns), as info', () => {
    const m = meta('Sales Header', { columns: [col('id'), col('No.', 'varchar'), col('plain_name'), col('9lives'), col('Kundé')] });
    const { findings } = planTable(m, company);
    expect(findings).toEqual([
      { severity: 'info', table: 'cronus.Sales Header', message: 'identifiers that need quoting: "Sales Header", "No.", "9lives", "Kundé"' },
    ]);
  });

  it('lists every finding, in order: spatial, no key, engine, identifiers', () => {
    const m = meta('geo-data', { engine: 'MyISAM', primaryKey: [], columns: [col('shape', 'geometry')] });
    const { plan, findings } = planTable(m, company);
    expect(plan.notMigratedReason).toBe('unsupported column type geometry in column shape');
    expect(plan.warning).toBe(NO_PRIMARY_KEY_WARNING);
    expect(findings.map((f) => [f.severity, f.message])).toEqual([
      ['error', 'unsupported column type geometry in column shape'],
      ['warning', NO_PRIMARY_KEY_WARNING],
      ['warning', 'engine MyISAM is not transactional; the target table is created as InnoDB'],
      ['info', 'identifiers that need quoting: "geo-data"'],
    ]);
    expect(findings.every((f) => f.table === 'cronus.geo-data')).toBe(true);
  });

  it('uses the company target and the meta schema, and keeps a dot in the name inside the key', () => {
    const { plan } = planTable(meta('a.b', { schema: 'fabrikam' }), { source: 'fabrikam', target: 'fab_target' });
    expect(plan.key).toBe('fabrikam.a.b');
    expect(plan.sourceSchema).toBe('fabrikam');
    expect(plan.targetSchema).toBe('fab_target');
    expect(plan.table).toBe('a.b');
  });
});
