/**
 * The shared action bridge (src/github/action.ts): annotation paths and secret masking, checked
 * through a real bundle run as the runner runs it.
 */
import { annotationPath } from '../../src/github/action.js';
import { runBundledAction } from './../support/action.js';

describe('annotationPath', () => {
  it('makes a path inside the workspace relative to it', () => {
    expect(
      annotationPath('/home/runner/work/app/app/db/001_x.sql', '/home/runner/work/app/app'),
    ).toBe('db/001_x.sql');
  });
  it('leaves relative paths and paths outside the workspace alone', () => {
    expect(annotationPath('db/001_x.sql', '/w')).toBe('db/001_x.sql');
    expect(annotationPath('/tmp/plan.yml', '/w')).toBe('/tmp/plan.yml');
    expect(annotationPath('/w/a.yml', undefined)).toBe('/w/a.yml');
  });
});

describe('database URL masking', () => {
  it('masks a percent-encoded password both decoded and as written', async () => {
    const run = await runBundledAction('migrate', {
      command: 'status',
      'database-url': 'postgres://app:s3cr%40t-Pw@127.0.0.1:1/app',
      dir: 'examples/paket7/migrations',
    });
    expect(run.exitCode).not.toBe(0);
    expect(run.masks).toEqual(expect.arrayContaining(['s3cr@t-Pw', 's3cr%40t-Pw']));
    const printed = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    const everything = printed + run.stderr + run.summary + JSON.stringify(run.outputs);
    expect(everything).not.toContain('s3cr@t-Pw');
    expect(everything).not.toContain('s3cr%40t-Pw');
    expect(everything).toMatch(/127\.0\.0\.1:1/);
    // A ConfigError is reported once, as an annotation naming the input.
    expect(run.annotations.filter((a) => a.level === 'error')).toHaveLength(1);
    expect(run.annotations[0].message).toMatch(/^input 'database-url': cannot connect/);
  });
});
