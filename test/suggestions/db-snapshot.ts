import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../src/lib/data-cipher';

/** Every row of every table, as text with encrypted values decrypted: what a person with the database and DATA_KEY could read. */
export async function readableRows(dataSource: DataSource, cipher: DataCipher): Promise<Map<string, string>> {
  const tables: { name: string }[] =
    dataSource.options.type === 'mysql'
      ? await dataSource.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')
      : await dataSource.query("SELECT name FROM sqlite_master WHERE type = 'table'");
  const rows = new Map<string, string>();
  for (const { name } of tables) {
    for (const row of await dataSource.query(`SELECT * FROM \`${name}\``)) {
      const raw = JSON.stringify(row);
      // Ciphertext is shown decrypted, not as base64 (which could contain any short word by chance).
      const plain = JSON.stringify(row, (_key, value) => (typeof value === 'string' && /^v[12]:/.test(value) ? '[encrypted]' : value));
      rows.set(`${name} ${raw}`, `${name}: ${plain} ${decryptedValues(row, cipher)}`);
    }
  }
  return rows;
}

function decryptedValues(row: Record<string, unknown>, cipher: DataCipher): string {
  return Object.values(row)
    .filter((v): v is string => typeof v === 'string' && /^v[12]:/.test(v))
    .map((v) => {
      try {
        return cipher.decrypt(v);
      } catch {
        return '';
      }
    })
    .join(' ');
}

/** Rows added or changed since `before`. */
export function changedRows(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after.entries()].filter(([key]) => !before.has(key)).map(([, readable]) => readable);
}
