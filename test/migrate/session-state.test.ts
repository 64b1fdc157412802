/**
 * A migration file's session settings (`SET search_path`, `SET ROLE`, `SET lock_timeout`) end
 * with the file: the next file runs with the run's own settings, as Flyway restores the
 * connection's original state after each migration.
 */
import { applyMigrations } from '../../src/migrate/index.js';
import { silentLogger } from '../../src/errors.js';
import { freshDatabase, withClient, type TestDatabase } from '../support/postgres.js';
import { migrationsDir, removeDir } from './helpers.js';

const info = { actor: 'jest', via: 'cli' as const };
let db: TestDatabase;
const dirs: string[] = [];
beforeEach(async () => {
  db = await freshDatabase('migrate_session');
});
afterEach(async () => {
  await db.dispose();
  for (const d of dirs.splice(0)) removeDir(d);
});

const schemaOf = (table: string) =>
  withClient(db.url, async (c) => {
    const r = await c.query(
      `SELECT table_schema FROM information_schema.tables WHERE table_name = $1`,
      [table],
    );
    return r.rows.map((x) => x.table_schema as string);
  });

test("a file's SET search_path does not leak into the next file", async () => {
  const dir = migrationsDir({
    '1_billing_schema.sql': `CREATE SCHEMA billing;\nSET search_path TO billing, public;\nCREATE TABLE invoice (id int);\n`,
    '2_plain.sql': `CREATE TABLE plain (id int);\n`,
  });
  dirs.push(dir);
  const r = await applyMigrations({ databaseUrl: db.url, dir, runInfo: info }, silentLogger);
  expect(r.applied).toEqual(['1', '2']);
  expect(await schemaOf('invoice')).toEqual(['billing']);
  expect(await schemaOf('plain')).toEqual(['public']);
});

test("a non-transactional file's SET search_path does not leak into the next file", async () => {
  const dir = migrationsDir({
    '1_schema.sql': `CREATE SCHEMA billing;\nCREATE TABLE billing.invoice (id int);\n`,
    '2_index.sql': `SET search_path TO billing, public;\nCREATE INDEX CONCURRENTLY invoice_id_idx ON invoice (id);\n`,
    '3_plain.sql': `CREATE TABLE plain (id int);\n`,
  });
  dirs.push(dir);
  const r = await applyMigrations({ databaseUrl: db.url, dir, runInfo: info }, silentLogger);
  expect(r.applied).toEqual(['1', '2', '3']);
  expect(await schemaOf('plain')).toEqual(['public']);
});

test("a file's SET ROLE does not make the next file run as that role", async () => {
  const role = `mig_role_${db.name}`.slice(0, 60);
  await withClient(db.url, (c) =>
    c.query(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role}; GRANT ${role} TO current_user;
             GRANT CREATE ON SCHEMA public TO ${role}`),
  );
  try {
    const dir = migrationsDir({
      '1_as_role.sql': `SET ROLE ${role};\nCREATE TABLE owned_by_role (id int);\n`,
      '2_plain.sql': `CREATE TABLE owned_by_runner (id int);\n`,
    });
    dirs.push(dir);
    await applyMigrations({ databaseUrl: db.url, dir, runInfo: info }, silentLogger);
    const owners = await withClient(
      db.url,
      async (c) =>
        (
          await c.query(
            `SELECT tablename, tableowner, current_user AS me FROM pg_tables
            WHERE tablename IN ('owned_by_role', 'owned_by_runner') ORDER BY 1`,
          )
        ).rows,
    );
    expect(owners[0]).toMatchObject({ tablename: 'owned_by_role', tableowner: role });
    expect(owners[1].tableowner).toBe(owners[1].me);
  } finally {
    await withClient(db.url, (c) => c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`)).catch(
      () => {},
    );
  }
});
