// The workflow bundle's entry point: the management page, its setup and its runs.
export { cloudMigration } from './management';
export { tenantSetup } from './setup';
export { replicationRun } from './replication-run';
export { dataUpgrade } from './data-upgrade';
export { scheduledReplication } from './scheduled-replication';
export { verification } from './verification';
export { lakeExport } from './lake-export';
export { readTableRows } from './read-table-rows';
