// How a name a request carries (a connection, a lake destination) becomes part of the worker's
// environment variable for it: pure, so workflow code may use it too.

/** `cloud-eu.1` → `CLOUD_EU_1`: letters upper-cased, anything else an underscore. */
export const envNamePart = (name: string): string => name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
