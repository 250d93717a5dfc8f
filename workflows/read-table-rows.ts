// One page of a tenant's table rows, read from the target (cm_control.table_state) for `cm status
// --all`, `cm checklist` and the like: the management workflow keeps only a summary of its tables,
// and a query cannot read a database. A short workflow of one activity, so the tenant's own history
// is not filled with reads; the client starts it on the tenant's task queue.
import type { PageRequest, TableFilter, TablePage } from '../lib/types';
import { readActivities } from './activity-options';
import type { ChecklistPage } from '../lib/table-pages';

export interface ReadTableRowsInput {
  tenant: string;
  targetConnection: string;
  kind: 'tables' | 'checklist';
  request: TableFilter & PageRequest;
}

export async function readTableRows(input: ReadTableRowsInput): Promise<TablePage | ChecklistPage> {
  return readActivities.readTableRows.executeWithOptions(
    { summary: `Read page ${input.request.page ?? 1} of ${input.tenant}'s ${input.kind === 'tables' ? 'tables' : 'Setup Checklist'}` },
    [input],
  );
}
