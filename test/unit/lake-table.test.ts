// A table whose columns take a name the lake's files use for their own is refused, before anything is read.
import { exportTable, LakeTableRefused, type ExportTableInput } from '../../activities/lake/export-table';
import type { ColumnMeta } from '../../activities/introspect';

const column = (name: string): ColumnMeta => ({ name, dataType: 'int', columnType: 'int', nullable: false, generated: false });
const untouched = new Proxy({}, { get: () => { throw new Error('nothing is read or written for a refused table'); } });

it.each(['_cm_digest', '_CM_Export', '_cm_deleted', '_cm_zero_3'])('refuses a source column named %s, naming it', async (name) => {
  const input = {
    source: untouched, store: untouched, meta: { schema: 'cronus', name: 't', engine: 'InnoDB', estimatedRows: 0, avgRowLength: 0, columns: [column('id'), column(name)], primaryKey: ['id'] },
    targetSchema: 'x', tenant: 't', kind: 'migrated', number: 1, workDir: '/nonexistent', memoryLimit: '64MB', fileBytes: 1, heartbeat: () => undefined, checkCancelled: () => undefined,
  } as unknown as ExportTableInput;
  await expect(exportTable(input)).rejects.toThrow(LakeTableRefused);
  await expect(exportTable(input)).rejects.toThrow(new RegExp(`cronus\\.t has a column named ${name}, a name the lake's files use`));
});
