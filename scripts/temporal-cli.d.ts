export declare const TEMPORAL_CLI_VERSION: string;
export declare function findTemporalCli(): string | undefined;
export declare function ensureTemporalCli(log?: (message: string) => void): string;
