// Issue 11, deliver 3: foreign keys in the restore point. RENAME TABLE carries the foreign keys that
// reference a table with it, so a working copy must never be built while a table it references is
// still to be parked: it would end up referencing the parked original. Here a child sorts before its
// parent (a_child → z_parent), a table references itself, and a table of another of the tenant's
// target schemas (listed first) references the parent. The working copies must reference the working
// tables, the parked originals each other, whatever the order and however often creation is retried.
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { controlParkingSchema, createRestorePoint, dropRestorePoint, parkingSchema, restoreToPoint } from '../../activities/restore-point';
import { targetDdl, ensureControlSchema } from '../../activities/target-schema';
import { tableDigest } from '../../activities/verify';
import { dropSchemas, testPool, uniqueName } from '../helpers';

let pool: Pool;
const created: { tenant: string; schemas: string[] }[] = [];

interface Case {
  tenant: string;
  /** The schema with the parent, the child and the self-referencing table. */
  main: string;
  /** Another target schema of the tenant, listed first, whose table references main's parent. */
  other: string;
  schemas: string[];
}

async function setUp(prefix: string): Promise<Case> {
  const tenant = uniqueName(`rpfk_${prefix}`);
  const main = uniqueName(`rpfk_${prefix}_main`);
  const other = uniqueName(`rpfk_${prefix}_a`);
  const c = { tenant, main, other, schemas: [other, main] };
  created.push({ tenant, schemas: [main, other] });
  await pool.query(`CREATE SCHEMA ${main}`);
  await pool.query(`CREATE SCHEMA ${other}`);
  await pool.query(`CREATE TABLE ${main}.z_parent (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL)`);
  await pool.query(`CREATE TABLE ${main}.a_child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NOT NULL,
    CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES z_parent (id) ON DELETE CASCADE)`);
  await pool.query(`CREATE TABLE ${main}.m_tree (id INT PRIMARY KEY, up INT NULL, CONSTRAINT fk_tree_up FOREIGN KEY (up) REFERENCES m_tree (id))`);
  await pool.query(`CREATE TABLE ${other}.o_ref (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NOT NULL,
    CONSTRAINT fk_other_parent FOREIGN KEY (parent_id) REFERENCES ${main}.z_parent (id))`);
  await pool.query(`INSERT INTO ${main}.z_parent (name) VALUES ?`, [Array.from({ length: 20 }, (_, i) => [`p${i}`])]);
  await pool.query(`INSERT INTO ${main}.a_child (parent_id) VALUES ?`, [Array.from({ length: 40 }, (_, i) => [1 + (i % 20)])]);
  await pool.query(`INSERT INTO ${main}.m_tree VALUES (1, NULL), (2, 1), (3, 1), (4, 3)`);
  await pool.query(`INSERT INTO ${other}.o_ref (parent_id) VALUES (1), (5), (20)`);
  return c;
}

/** Every foreign key of the schema's tables: table.constraint → referenced schema.table. */
async function foreignKeys(schema: string): Promise<Record<string, string>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS c, REFERENCED_TABLE_SCHEMA AS rs, REFERENCED_TABLE_NAME AS rt
       FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY 1, 2`,
    [schema],
  );
  return Object.fromEntries(rows.map((r) => [`${r.t}.${r.c}`, `${r.rs}.${r.rt}`]));
}

async function expectFksInto(c: Case, schemaOfMain: string, schemaOfOther = c.other): Promise<void> {
  expect(await foreignKeys(schemaOfMain)).toEqual({
    'a_child.fk_child_parent': `${c.main}.z_parent`,
    'm_tree.fk_tree_up': `${c.main}.m_tree`,
  });
  expect(await foreignKeys(schemaOfOther)).toEqual({ 'o_ref.fk_other_parent': `${c.main}.z_parent` });
  // The same seen from the constraint side.
  const [rc] = await pool.query<RowDataPacket[]>(
    'SELECT CONSTRAINT_NAME AS c, UNIQUE_CONSTRAINT_SCHEMA AS s, REFERENCED_TABLE_NAME AS t FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (?, ?) ORDER BY 1',
    [schemaOfMain, schemaOfOther],
  );
  expect(rc.map((r) => `${r.c}→${r.s}.${r.t}`)).toEqual([
    `fk_child_parent→${c.main}.z_parent`,
    `fk_other_parent→${c.main}.z_parent`,
    `fk_tree_up→${c.main}.m_tree`,
  ]);
}

async function digests(c: Case): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['a_child', 'm_tree', 'z_parent']) out[`${c.main}.${t}`] = await tableDigest(pool, c.main, t);
  out[`${c.other}.o_ref`] = await tableDigest(pool, c.other, 'o_ref');
  return out;
}

/** What an upgrade's steps do: rows in parent, child, the self-referencing table and the other schema. */
async function steps(c: Case): Promise<void> {
  const [res] = await pool.query(`INSERT INTO ${c.main}.z_parent (name) VALUES ('new parent')`);
  const parent = (res as { insertId: number }).insertId;
  await pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (?)`, [parent]);
  await pool.query(`INSERT INTO ${c.main}.m_tree VALUES (5, 4)`);
  await pool.query(`INSERT INTO ${c.other}.o_ref (parent_id) VALUES (?)`, [parent]);
  await pool.query(`UPDATE ${c.main}.z_parent SET name = 'changed' WHERE id = 2`);
  await pool.query(`DELETE FROM ${c.main}.z_parent WHERE id = 3`); // cascades to the working child
  await expect(pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (999)`)).rejects.toThrow(/foreign key constraint fails/);
}

async function schemaExists(schema: string): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]);
  return rows.length > 0;
}

beforeAll(async () => {
  pool = testPool();
  await ensureControlSchema(pool);
});

afterAll(async () => {
  for (const { tenant, schemas } of created) {
    const conn = await pool.getConnection();
    try {
      await conn.query('SET SESSION foreign_key_checks = 0');
      for (const s of [...schemas.map((x) => parkingSchema(tenant, x)), controlParkingSchema(tenant), ...schemas]) await conn.query(`DROP SCHEMA IF EXISTS \`${s}\``);
      await conn.query('DELETE FROM cm_control.restore_point_trigger WHERE tenant = ?', [tenant]);
    } finally {
      conn.release();
    }
    await dropSchemas(pool, ...schemas);
  }
  await pool.end();
});

it('the working copies reference the working tables, steps insert into parent and child, and dropping the point works', async () => {
  const c = await setUp('drop');
  await createRestorePoint(pool, { tenant: c.tenant, schemas: c.schemas }, () => undefined);
  await expectFksInto(c, c.main);
  // The parked originals reference each other, inside the parking schemas.
  const [parkedMain, parkedOther] = [parkingSchema(c.tenant, c.main), parkingSchema(c.tenant, c.other)];
  expect(await foreignKeys(parkedMain)).toEqual({ 'a_child.fk_child_parent': `${parkedMain}.z_parent`, 'm_tree.fk_tree_up': `${parkedMain}.m_tree` });
  expect(await foreignKeys(parkedOther)).toEqual({ 'o_ref.fk_other_parent': `${parkedMain}.z_parent` });

  await steps(c);
  const after = await digests(c);
  await dropRestorePoint(pool, { tenant: c.tenant, schemas: c.schemas });
  for (const s of c.schemas) expect(await schemaExists(parkingSchema(c.tenant, s))).toBe(false);
  expect(await schemaExists(controlParkingSchema(c.tenant))).toBe(false);
  expect(await digests(c)).toEqual(after); // the upgraded tables stay as the steps left them
  await expectFksInto(c, c.main);
  await pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (1)`);
  await expect(pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (999)`)).rejects.toThrow(/foreign key constraint fails/);
});

it('a restore puts back the originals, referencing each other in the original schemas', async () => {
  const c = await setUp('restore');
  const before = await digests(c);
  const point = await createRestorePoint(pool, { tenant: c.tenant, schemas: c.schemas }, () => undefined);
  expect(await digests(c)).toEqual(before); // the working copies equal the originals
  await steps(c);
  expect(await digests(c)).not.toEqual(before);

  await restoreToPoint(pool, { tenant: c.tenant, schemas: c.schemas, point }, () => undefined);
  expect(await digests(c)).toEqual(before);
  await expectFksInto(c, c.main);
  for (const s of c.schemas) expect(await schemaExists(parkingSchema(c.tenant, s))).toBe(false);
  await pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (2)`);
  await pool.query(`INSERT INTO ${c.other}.o_ref (parent_id) VALUES (2)`);
  await expect(pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (999)`)).rejects.toThrow(/foreign key constraint fails/);
  await expect(pool.query(`INSERT INTO ${c.main}.m_tree VALUES (9, 999)`)).rejects.toThrow(/foreign key constraint fails/);
});

it('a creation interrupted half-way, then completed (and repeated), still restores exactly', async () => {
  const c = await setUp('retry');
  const before = await digests(c);
  // An earlier attempt parked the child alone and built its working copy (as a table-by-table park would).
  const parked = parkingSchema(c.tenant, c.main);
  await pool.query(`CREATE SCHEMA ${parked}`);
  await pool.query(`RENAME TABLE ${c.main}.a_child TO ${parked}.a_child`);
  const [ddl] = await pool.query<RowDataPacket[]>(`SHOW CREATE TABLE ${parked}.a_child`);
  const conn = await pool.getConnection();
  try {
    await conn.query('SET SESSION foreign_key_checks = 0');
    await conn.query(targetDdl(String(ddl[0]['Create Table']), c.main, 'a_child'));
    await conn.query(`INSERT INTO ${c.main}.a_child SELECT * FROM ${parked}.a_child`);
    await conn.query('SET SESSION foreign_key_checks = 1');
  } finally {
    conn.release();
  }
  // The next attempt dies after its second table.
  let built = 0;
  await expect(createRestorePoint(pool, { tenant: c.tenant, schemas: c.schemas }, () => {
    if (++built === 2) throw new Error('worker lost');
  })).rejects.toThrow('worker lost');
  await createRestorePoint(pool, { tenant: c.tenant, schemas: c.schemas }, () => undefined);
  const point = await createRestorePoint(pool, { tenant: c.tenant, schemas: c.schemas }, () => undefined); // a retry of a finished creation
  expect(point.schemas.map((s) => s.tables.map((t) => t.name))).toEqual([['o_ref'], ['a_child', 'm_tree', 'z_parent']]);
  expect(await digests(c)).toEqual(before);
  await expectFksInto(c, c.main);

  await steps(c);
  await restoreToPoint(pool, { tenant: c.tenant, schemas: c.schemas, point }, () => undefined);
  expect(await digests(c)).toEqual(before);
  await expectFksInto(c, c.main);
  await pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (4)`);
  await expect(pool.query(`INSERT INTO ${c.main}.a_child (parent_id) VALUES (999)`)).rejects.toThrow(/foreign key constraint fails/);
});
