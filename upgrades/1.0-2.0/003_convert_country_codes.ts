// 2.0 uses ISO 3166 alpha-3 country codes. The mapping is data SQL does not have, hence a code step.
import type { RowDataPacket } from 'mysql2/promise';
import type { UpgradeStepContext } from '../../activities/upgrade-steps';

const ALPHA3: Record<string, string> = {
  AT: 'AUT', BE: 'BEL', CH: 'CHE', CN: 'CHN', DE: 'DEU', DK: 'DNK', ES: 'ESP', FR: 'FRA', GB: 'GBR', GR: 'GRC', IS: 'ISL', IT: 'ITA',
  JP: 'JPN', NL: 'NLD', NO: 'NOR', PL: 'POL', PT: 'PRT', SE: 'SWE', US: 'USA', XK: 'XKX',
};

export default async function convertCountryCodes({ conn }: UpgradeStepContext): Promise<void> {
  const [codes] = await conn.query<RowDataPacket[]>('SELECT code FROM country_region');
  const unknown = codes.map((r) => String(r.code)).filter((c) => !ALPHA3[c]);
  if (unknown.length > 0) throw new Error(`no alpha-3 code known for ${unknown.join(', ')}`);
  await conn.query('ALTER TABLE country_region ADD COLUMN iso_alpha3 CHAR(3) NULL AFTER code');
  for (const [alpha2, alpha3] of Object.entries(ALPHA3)) {
    await conn.query('UPDATE country_region SET iso_alpha3 = ? WHERE code = ?', [alpha3, alpha2]);
    await conn.query('UPDATE customer SET country_code = ? WHERE country_code = ?', [alpha3, alpha2]);
    await conn.query('UPDATE vendor SET country_code = ? WHERE country_code = ?', [alpha3, alpha2]);
  }
}
