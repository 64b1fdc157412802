import { jest } from '@jest/globals';
import { ConfigError, recordingLogger } from '../../src/errors.js';
import { command } from '../../src/smoke/cli.js';
import { startSmokeService, type SmokeService } from '../support/smoke-service.js';

describe('runbook smoke', () => {
  let svc: SmokeService;
  const TOKEN = 'cli-token-71be0f';
  beforeAll(async () => {
    svc = await startSmokeService({ token: TOKEN });
    process.env.SMOKE_CLI_TOKEN = TOKEN;
  });
  afterAll(async () => {
    delete process.env.SMOKE_CLI_TOKEN;
    await svc.close();
  });

  it('runs checks with a secret from the environment and exits 0', async () => {
    const logger = recordingLogger();
    const code = await command.run(
      [
        '--checks',
        'test/smoke/fixtures/cli.yml',
        '--base-url',
        `${svc.url}/`,
        '--var',
        'tenant=tn-4582',
        '--secret',
        'SMOKE_CLI_TOKEN',
      ],
      logger,
    );
    const out = logger.lines.join('\n');
    expect(code).toBe(0);
    expect(out).toContain('**2 of 2 checks passed**');
    expect(out).not.toContain(TOKEN);
  });

  it('exits 1 and names the failing check and its line', async () => {
    const logger = recordingLogger();
    const code = await command.run(
      [
        '--checks',
        'test/smoke/fixtures/cli.yml',
        '--base-url',
        svc.url,
        '--var',
        'tenant=tn-1001',
        '--secret',
        'SMOKE_CLI_TOKEN',
      ],
      logger,
    );
    expect(code).toBe(1);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /^error: status: expected 429, got 200 .* \(test\/smoke\/fixtures\/cli\.yml:7\)$/,
      ),
    );
  });

  it('--json prints one { name, status, latencyMs, ok, error } per check and nothing else', async () => {
    const printed: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((m?: unknown) => {
      printed.push(String(m));
    });
    const logger = recordingLogger();
    let code: number;
    try {
      code = await command.run(
        [
          '--checks',
          'test/smoke/fixtures/cli.yml',
          '--base-url',
          svc.url,
          '--var',
          'tenant=tn-1001',
          '--secret',
          'SMOKE_CLI_TOKEN',
          '--json',
        ],
        logger,
      );
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(1);
    expect(printed).toHaveLength(1);
    const results = JSON.parse(printed[0]);
    expect(results.map((r: Record<string, unknown>) => Object.keys(r).sort())).toEqual([
      ['error', 'latencyMs', 'name', 'ok', 'status'],
      ['error', 'latencyMs', 'name', 'ok', 'status'],
    ]);
    expect(results[0]).toMatchObject({ name: 'health', status: 200, ok: true, error: null });
    expect(results[1]).toMatchObject({ name: 'quota denies the tenant', status: 200, ok: false });
    expect(results[1].error).toMatch(/^status: expected 429, got 200/);
    expect(printed[0]).not.toContain(TOKEN);
    expect(logger.lines.some((l) => l.includes('checks failed'))).toBe(false);
  });

  it('refuses a secret that is not in the environment, and a missing --checks', async () => {
    await expect(
      command.run(
        ['--checks', 'test/smoke/fixtures/cli.yml', '--secret', 'NO_SUCH_SMOKE_VAR'],
        recordingLogger(),
      ),
    ).rejects.toThrow(/--secret.*NO_SUCH_SMOKE_VAR is not set/);
    await expect(command.run([], recordingLogger())).rejects.toBeInstanceOf(ConfigError);
  });
});
