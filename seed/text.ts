// Word lists and string helpers for plausible (and deliberately awkward) ERP text values.
import { formatDateTime, type Rng } from './rng';

/** Strings that stress escaping: quotes, backslashes, control characters, emoji, non-Latin scripts. */
export const NASTY = [
  "O'Reilly & Söhne",
  '"Quoted" Trading Co.',
  'C:\\Temp\\back\\slash\\',
  'Tab\tseparated\tvalue',
  'Line one\nLine two',
  'CRLF line\r\nnext',
  'Rocket 🚀 Supplies ✨',
  'Ünïcödé ÄÖÜ äöü ß',
  '日本語のテキスト',
  "'; DROP TABLE customer; --",
  '100% _wild_ cards',
  'Ελληνικά & Русский',
  'Smile 😀 "and" \\ \'all\'',
] as const;

const FIRST = [
  'Adatum', 'Alpine', 'Blue Yonder', 'Coho', 'Contoso', 'Fabrikam', 'Litware', 'Northwind', 'Proseware', 'Relecloud',
  'Tailspin', 'Trey', 'Wide World', 'Woodgrove', 'Lucerne', 'Margie', 'Wingtip', 'Fourth Coffee', 'Graphic Design', 'Humongous',
];
const SUFFIX = ['Corporation', 'Ltd.', 'GmbH', 'A/S', 'Inc.', 'Trading', 'Importers', 'Partners', 'AG', 'S.A.', 'B.V.', 'Group'];
const STREETS = ['Main Street', 'Hauptstraße', 'Rue de la Paix', 'Kongens Nytorv', 'Baker Street', 'Via Roma', 'Calle Mayor', 'Market Square'];
export const CITIES = ['London', 'München', 'København', 'Paris', 'Zürich', 'Göteborg', 'Atlanta', 'Tōkyō', 'Wien', 'Kraków', 'Reykjavík', 'Madrid'];
const NOUNS = ['Desk', 'Chair', 'Lamp', 'Cabinet', 'Bicycle', 'Speaker', 'Monitor', 'Table', 'Shelf', 'Sofa', 'Printer', 'Cable'];
const ADJ = ['Oak', 'Steel', 'Deluxe', 'Compact', 'Ergonomic', 'Wireless', 'Glass', 'Premium', 'Basic', 'Outdoor'];
const NOUNS_DE = ['Schreibtisch', 'Stuhl', 'Lampe', 'Schrank', 'Fahrrad', 'Lautsprecher', 'Bildschirm', 'Tisch', 'Regal', 'Sofa', 'Drucker', 'Kabel'];
const ADJ_DE = ['aus Eiche', 'aus Stahl', 'höhenverstellbar', 'kompakt', 'ergonomisch', 'kabellos', 'für draußen', 'groß', 'klein', 'grün'];
const GL_TEXT = ['Invoice', 'Payment received', 'Opening balance', 'Depreciation', 'Bank charges', 'Salaries', 'Rent', 'Accrual', 'Reversal', 'VAT settlement'];

export const pad = (n: number, width = 6): string => String(n).padStart(width, '0');

/** Truncate to `max` characters (code points, as MySQL counts them) so emoji are never cut in half. */
export const clip = (s: string, max: number): string => Array.from(s).slice(0, max).join('');

/** Mostly normal text; with probability p one of the NASTY strings is mixed in. Result fits in `max` characters. */
export function maybeNasty(rng: Rng, normal: string, p: number, max = 100): string {
  return clip(rng.chance(p) ? `${rng.pick(NASTY)} ${normal}` : normal, max);
}

export const companyName = (rng: Rng) => `${rng.pick(FIRST)} ${rng.pick(SUFFIX)}`;
export const address = (rng: Rng) => `${rng.pick(STREETS)} ${rng.int(1, 250)}`;
export const itemName = (rng: Rng) => `${rng.pick(ADJ)} ${rng.pick(NOUNS)} ${rng.int(100, 999)}`;
export const itemNameDe = (rng: Rng) => `${rng.pick(NOUNS_DE)}, ${rng.pick(ADJ_DE)}`;
export const glText = (rng: Rng) => rng.pick(GL_TEXT);

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** A DATETIME(3) on the given day, e.g. a posting's creation time. */
export function timeOn(rng: Rng, date: string): string {
  return formatDateTime(Date.parse(`${date}T00:00:00Z`) + rng.int(0, 86_399_999));
}

/** A [created, modified] pair with modified >= created, both within the years. */
export function createdModified(rng: Rng, fromYear: number, toYear: number): [string, string] {
  const start = Date.UTC(fromYear, 0, 1);
  const created = start + Math.floor(rng.next() * (Date.UTC(toYear + 1, 0, 1) - start));
  const modified = Math.min(created + rng.int(0, 400 * 86_400_000), Date.UTC(toYear + 1, 0, 1) - 1);
  return [formatDateTime(created), formatDateTime(modified)];
}

/** RFC 4122 v4 layout from RNG bytes (deterministic, unlike crypto.randomUUID). */
export function uuid(rng: Rng): string {
  const b = rng.bytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
