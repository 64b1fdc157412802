// Child-process entry point that runs a real unleash-server (npm `unleash-server`, AGPL) for the
// flags tests. Not a fake: this is Unleash itself, on the PostgreSQL database named by
// UNLEASH_TEST_DATABASE_URL, listening on 127.0.0.1:UNLEASH_TEST_PORT (0 = any free port). An
// admin API token (UNLEASH_TEST_ADMIN_TOKEN, format `*:*.<secret>`) is created at startup with
// the documented `authentication.initApiTokens` option. Prints `READY <port>` on stdout.
import { start } from 'unleash-server';

const url = new URL(process.env.UNLEASH_TEST_DATABASE_URL);
const unleash = await start({
  db: {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
    ssl: false,
    pool: { min: 0, max: 4 },
  },
  server: { port: Number(process.env.UNLEASH_TEST_PORT ?? 0), host: '127.0.0.1' },
  authentication: {
    type: 'open-source',
    createAdminUser: false,
    initApiTokens: [
      {
        secret: process.env.UNLEASH_TEST_ADMIN_TOKEN,
        type: 'admin',
        tokenName: 'runbook-tests',
        projects: ['*'],
        environment: '*',
      },
    ],
  },
  getLogger: () => {
    const quiet = () => {};
    return {
      debug: quiet,
      info: quiet,
      warn: quiet,
      error: (...a) => console.error(...a),
      fatal: (...a) => console.error(...a),
    };
  },
  disableScheduler: true,
  versionCheck: { enable: false },
  email: {},
  ui: {},
});
const address = unleash.server.address();
console.log(`READY ${address.port}`);
const stop = async () => {
  await unleash.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
