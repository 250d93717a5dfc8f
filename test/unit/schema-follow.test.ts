import { additiveAlter } from '../../activities/binlog-capture';
import type { ColumnMeta, TableMeta } from '../../activities/introspect';
import { alterClauses, constantDefault, definitionLines, planAlteration, widens } from '../../activities/schema-follow';
import { followedTables } from '../../workflows/run-plan';
import { applySchemaChanges, initialState } from '../../workflows/tenant-state';
import type { TablePlan, TableWork } from '../../lib/types';

const col = (name: string, columnType: string, extra: Partial<ColumnMeta> = {}): ColumnMeta => ({
  name, columnType, dataType: columnType.replace(/\(.*$/, '').replace(/ .*$/, ''), nullable: false, generated: false, default: null, extra: '', ...extra,
});
const table = (columns: ColumnMeta[], primaryKey = ['id']): TableMeta => ({ schema: 's', name: 't', engine: 'InnoDB', estimatedRows: 0, avgRowLength: 0, columns, primaryKey });

describe('widens', () => {
  it.each([
    ['int', 'bigint', true], ['bigint', 'int', false], ['int unsigned', 'bigint', true], ['int unsigned', 'int', false], ['int', 'int unsigned', false],
    ['varchar(20)', 'varchar(60)', true], ['varchar(60)', 'varchar(20)', false], ['varchar(20)', 'text', true], ['text', 'tinytext', false],
    ['decimal(8,2)', 'decimal(10,4)', true], ['decimal(8,2)', 'decimal(8,4)', false], ['decimal(8,4)', 'decimal(8,2)', false],
    ['datetime(3)', 'datetime(6)', true], ['datetime(6)', 'datetime', false], ['float', 'double', true], ['double', 'float', false],
    ["enum('a','b')", "enum('a','b','c')", true], ['varchar(60)', 'tinytext', true], ['varchar(400)', 'tinytext', false], ['varchar(400)', 'text', true], ["enum('a','b')", "enum('b','a')", false], ['char(4)', 'varchar(4)', false], ['binary(4)', 'binary(8)', false],
  ])('%s → %s: %s', (from, to, expected) => {
    expect(widens(col('c', from), col('c', to))).toBe(expected);
  });
  it('a column made NOT NULL, or given another collation, is not widened', () => {
    expect(widens(col('c', 'int', { nullable: true }), col('c', 'int'))).toBe(false);
    expect(widens(col('c', 'int'), col('c', 'int', { nullable: true }))).toBe(true);
    expect(widens(col('c', 'varchar(5)', { collation: 'utf8mb4_general_ci' }), col('c', 'varchar(9)', { collation: 'utf8mb4_bin' }))).toBe(false);
  });
});

describe('constantDefault', () => {
  it.each([
    [null, '', true], ['NULL', '', true], ["'abc'", '', true], ['7', '', true], ['current_timestamp()', '', false], ['uuid()', '', false],
    ['CURRENT_TIMESTAMP', 'DEFAULT_GENERATED', false], [null, 'auto_increment', false], ['(rand() * 10)', '', false],
    ['(current_timestamp() + interval 1 day)', '', false], ["b'101'", '', true], ["'it''s'", '', true], ['-1.5e3', '', true], ['abc', '', false],
  ])('default %s extra %s: %s', (d, extra, expected) => {
    expect(constantDefault(col('c', 'int', { default: d, extra }))).toBe(expected);
  });
});

describe('planAlteration', () => {
  const base = [col('id', 'int'), col('name', 'varchar(20)'), col('price', 'decimal(8,2)')];
  it('is empty when nothing differs', () => {
    expect(planAlteration(table(base), table(base), new Map([['i', 'x']]), new Map([['i', 'x']]))).toEqual({ changes: [], steps: [] });
  });
  it('adds a column after its neighbour, widens in place, adds an index and drops a column', () => {
    const source = table([col('id', 'int'), col('qty', 'int', { default: '7' }), col('name', 'varchar(60)'), col('price', 'decimal(8,2)')]);
    const target = table([...base, col('old', 'int')]);
    const plan = planAlteration(source, target, new Map([['by_name', 'btree name']]), new Map());
    expect(plan.rebuild).toBeUndefined();
    expect(plan.steps).toEqual([
      { op: 'drop-column', column: 'old' }, { op: 'add-column', column: 'qty', after: 'id' }, { op: 'modify-column', column: 'name' }, { op: 'add-index', name: 'by_name' },
    ]);
    expect(plan.changes).toEqual(['column old dropped', 'column qty added (int)', 'column name varchar(20) → varchar(60)', 'index by_name added']);
  });
  it('drops a unique index only the target has (a REPLACE would delete rows over it), keeps a plain one, and follows a generated expression', () => {
    const plan = planAlteration(table(base), table(base), new Map(), new Map([['uc', 'unique btree name'], ['plain', 'btree price']]));
    expect(plan.steps).toEqual([{ op: 'drop-index', name: 'uc' }]);
    const g = (expression: string) => col('g', 'int(11)', { generated: true, expression });
    const changed = planAlteration(table([...base, g('`price` * 3')]), table([...base, g('`price` * 2')]));
    expect(changed.steps).toEqual([{ op: 'modify-column', column: 'g' }]);
    expect(changed.rebuild).toBeUndefined();
  });
  it('rebuilds for a narrowed column, a new key, a reorder and a default computed per row', () => {
    expect(planAlteration(table([col('id', 'int'), col('name', 'varchar(10)'), base[2]]), table(base)).rebuild).toMatch(/may have changed its values/);
    expect(planAlteration(table(base, ['id', 'name']), table(base)).rebuild).toMatch(/primary key/);
    expect(planAlteration(table([base[0], base[2], base[1]]), table(base)).rebuild).toMatch(/reordered/);
    expect(planAlteration(table([...base, col('at', 'datetime', { default: 'current_timestamp()' })]), table(base)).rebuild).toMatch(/computed per row/);
  });
});

describe('definitionLines and alterClauses', () => {
  const ddl = 'CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `we``ird` varchar(60) NOT NULL DEFAULT \'a,b\',\n  PRIMARY KEY (`id`),\n  KEY `by_name` (`we``ird`)\n) ENGINE=InnoDB';
  it('reads each column and index line, and builds the clauses from them', () => {
    const lines = definitionLines(ddl);
    expect(lines.columns.get('we`ird')).toBe("`we``ird` varchar(60) NOT NULL DEFAULT 'a,b'");
    expect(lines.indexes.get('by_name')).toBe('KEY `by_name` (`we``ird`)');
    expect(alterClauses([{ op: 'add-column', column: 'we`ird', after: 'id' }, { op: 'replace-index', name: 'by_name' }], lines)).toEqual([
      "ADD COLUMN `we``ird` varchar(60) NOT NULL DEFAULT 'a,b' AFTER `id`", 'DROP INDEX `by_name`', 'ADD KEY `by_name` (`we``ird`)',
    ]);
  });
});

describe('additiveAlter', () => {
  it.each([
    ['ALTER TABLE t ADD COLUMN c INT', true],
    ['ALTER TABLE `s`.`t` ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER id, ADD INDEX by_c (c)', true],
    ["alter online table s.t add c varchar(9) default 'x,y', algorithm=inplace", true],
    ['ALTER TABLE t ADD COLUMN c INT, MODIFY d INT', false],
    ['ALTER TABLE t MODIFY name VARCHAR(60)', false],
    ['ALTER TABLE t ADD PRIMARY KEY (id)', false],
    ['ALTER TABLE t DROP COLUMN c', false],
    ["ALTER TABLE t ADD COLUMN c INT -- don't\n, DROP COLUMN c2, ADD COLUMN c2 INT DEFAULT 0", false],
    ['ALTER TABLE t ADD COLUMN `x\\` INT, DROP COLUMN c2', false],
    ['ALTER IGNORE TABLE t ADD UNIQUE KEY u (c)', false],
    ['ALTER TABLE t ADD COLUMN c INT /* , DROP COLUMN d */', false],
    ['TRUNCATE t', false],
  ])('%s: %s', (statement, expected) => {
    expect(additiveAlter(statement)).toBe(expected);
  });
});

describe('following the schema in the run and on the page', () => {
  const plan = (table: string, extra: Partial<TablePlan> = {}): TablePlan => ({
    key: `s.${table}`, sourceSchema: 's', targetSchema: 'd', table, hasPrimaryKey: true, splittable: true, estimatedRows: 1, ...extra,
  });
  const work = (table: string): TableWork => ({ ...plan(table), full: false });
  const schema = {
    changes: [
      { key: 's.gone', change: 'table dropped on the source', action: 'dropped on the target' },
      { key: 's.new', change: 'table created on the source', action: 'created on the target and loaded in full' },
      { key: 's.bad', change: 'column x added', action: 'could not be followed: denied', failed: true },
      { key: 's.rekeyed', change: 'primary key (id) → none', action: 'target table rebuilt' },
    ],
    added: [plan('new'), plan('skipped', { notMigratedReason: 'excluded' })],
    dropped: ['s.gone'],
    replanned: [plan('rekeyed', { hasPrimaryKey: false, splittable: false })],
  };
  it('drops, adds and replans the run\'s tables; a change not followed fails its table', () => {
    const out = followedTables([work('kept'), work('gone'), work('bad'), work('rekeyed')], schema);
    expect(out.work.map((t) => [t.key, t.full, t.hasPrimaryKey])).toEqual([['s.kept', false, true], ['s.rekeyed', true, false], ['s.new', true, true]]);
    expect(out.failed).toEqual([{ key: 's.bad', reason: 'column x added: could not be followed: denied' }]);
  });
  it('a renamed table keeps its place in the run and its statistics on the page, under its new name', () => {
    const renamed = { changes: [], added: [], dropped: [], replanned: [], renamed: [{ from: 's.old', plan: plan('new') }], rebuilt: [] };
    expect(followedTables([work('old')], renamed).work.map((t) => [t.key, t.table, t.full])).toEqual([['s.new', 'new', false]]);
    const state = initialState();
    state.tables['s.old'] = { ...plan('old'), status: 'Successful', fullLoadRows: 7, inserts: 3, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: true };
    applySchemaChanges(state, 2, renamed);
    expect(Object.keys(state.tables)).toEqual(['s.new']);
    expect(state.tables['s.new']).toMatchObject({ table: 'new', fullLoadRows: 7, inserts: 3, fullLoadDone: true });
  });
  it('the page drops and adds tables and says what changed', () => {
    const state = initialState();
    for (const t of ['kept', 'gone', 'bad', 'rekeyed']) {
      state.tables[`s.${t}`] = { ...plan(t), status: 'Successful', fullLoadRows: 1, inserts: 0, updates: 0, deletes: 0, errors: 0, durationMs: 0, fullLoadDone: true, resyncRequested: 'me' };
    }
    applySchemaChanges(state, 4, schema);
    expect(Object.keys(state.tables).sort()).toEqual(['s.bad', 's.kept', 's.new', 's.rekeyed', 's.skipped']);
    expect(state.tables['s.new']).toMatchObject({ status: 'Not Started', fullLoadDone: false });
    expect(state.tables['s.skipped']).toMatchObject({ status: 'Not Migrated' });
    expect(state.tables['s.rekeyed']).toMatchObject({ hasPrimaryKey: false, schemaChange: 'run #4: primary key (id) → none: target table rebuilt' });
    expect(state.tables['s.rekeyed'].resyncRequested).toBeUndefined();
    expect(state.tables['s.bad'].resyncRequested).toBe('me'); // not followed: still asked for
  });
});
