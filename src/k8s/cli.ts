/** `runbook rollout <command>`: the rollout engine from the command line. */
import { durationFlag, listFlag, numberFlag, parseFlags } from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { ConfigError } from '../errors.js';
import { runInfo } from '../runinfo.js';
import type { ClusterOptions, PollOptions } from './client.js';
import { RolloutError } from './client.js';
import { abortCanary, parseWeights, promoteCanary, stepCanaryWeights } from './canary.js';
import { applyManifests } from './apply.js';
import { JobFailedError, runJob } from './job.js';
import { isRolloutCommand, setImageChangeCause } from './commands.js';
import {
  parseImages,
  setImage,
  undoRollout,
  waitForRollout,
  type SetImageResult,
} from './rollout.js';
import {
  applySummary,
  canarySummary,
  jobSummary,
  setImageSummary,
  undoSummary,
  waitSummary,
} from './summary.js';

const usage = `usage: runbook rollout <command> [options]

commands:
  set-image   --deployment D --image api=repo:tag [--image ...] [--change-cause TEXT]
  wait        --deployment D                 (kubectl rollout status rules)
  undo        --deployment D [--to-revision N]
  set-weight  --ingress CANARY --weights 1,5,20,50,100 [--pause 2m]
  promote     --ingress CANARY [--deployment STABLE --image api=repo:tag]
  abort       --ingress CANARY                (canary weight 0)
  apply       --manifest FILE|DIR [--manifest ...] [--field-manager M] [--no-force] [--dry-run]
  run-job     --job-manifest FILE

cluster:
  --kubeconfig FILE   kubeconfig file (default: $KUBECONFIG or ~/.kube/config; 'in-cluster' for
                      the service account)
  --context NAME      kubeconfig context
  -n, --namespace NS  namespace (default: the context's, else default)
  --timeout 10m       how long to wait; --poll-interval 2s between status reads

exit codes: 0 done; 1 the rollout or Job failed; 2 usage or configuration error`;

/** The `runbook rollout` command. */
export const command: CliCommand = {
  name: 'rollout',
  summary: 'Kubernetes: set image, wait, undo, canary weights, server-side apply, run a Job',
  usage,
  run: async (argv, logger) => {
    const { values, positionals } = parseFlags(
      argv,
      {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        deployment: { type: 'string' },
        image: { type: 'string', multiple: true },
        'change-cause': { type: 'string' },
        'to-revision': { type: 'string' },
        ingress: { type: 'string' },
        weights: { type: 'string' },
        pause: { type: 'string' },
        manifest: { type: 'string', multiple: true },
        'field-manager': { type: 'string' },
        'no-force': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'job-manifest': { type: 'string' },
        timeout: { type: 'string' },
        'poll-interval': { type: 'string' },
      },
      usage,
      true,
    );
    const [cmd] = positionals;
    if (!isRolloutCommand(cmd)) {
      logger.error(`${cmd ? `unknown command '${cmd}'` : 'a command is required'}\n${usage}`);
      return 2;
    }
    const need = (name: keyof typeof values): string => {
      const v = values[name];
      if (typeof v !== 'string' || !v) throw new ConfigError(`--${name} is required for ${cmd}`);
      return v;
    };
    const duration = (name: 'timeout' | 'poll-interval' | 'pause', fallback: string) =>
      durationFlag(values[name], `--${name}`, fallback);
    const cluster: ClusterOptions & PollOptions = {
      kubeconfigFile:
        values.kubeconfig === 'in-cluster' ? undefined : (values.kubeconfig ?? 'default'),
      context: values.context,
      namespace: values.namespace,
      timeoutMs: duration('timeout', '10m'),
      pollIntervalMs: duration('poll-interval', '2s'),
    };
    const images = () => parseImages(values.image ?? [], '--image');
    /** The stable Deployment a promotion moved to the new images before its rollout was waited for. */
    let movedStable: SetImageResult | undefined;
    try {
      switch (cmd) {
        case 'set-image': {
          const wanted = images();
          const run = runInfo();
          const r = await setImage(
            {
              ...cluster,
              deployment: need('deployment'),
              images: wanted,
              changeCause:
                values['change-cause'] ?? setImageChangeCause(wanted, run.actor, 'runbook cli'),
            },
            logger,
          );
          logger.info(setImageSummary(r));
          break;
        }
        case 'wait':
          logger.info(
            waitSummary(
              await waitForRollout({ ...cluster, deployment: need('deployment') }, logger),
            ),
          );
          break;
        case 'undo': {
          const to =
            numberFlag(values['to-revision'], '--to-revision', { integer: true, min: 0 }) ?? 0;
          logger.info(
            undoSummary(
              await undoRollout(
                { ...cluster, deployment: need('deployment'), toRevision: to },
                logger,
              ),
            ),
          );
          break;
        }
        case 'set-weight': {
          const weights = parseWeights(listFlag(need('weights')), 100, '--weights');
          const r = await stepCanaryWeights(
            { ...cluster, ingress: need('ingress'), weights, pauseMs: duration('pause', '0s') },
            logger,
          );
          logger.info(canarySummary('set-weight', r));
          break;
        }
        case 'promote': {
          const r = await promoteCanary(
            {
              ...cluster,
              ingress: need('ingress'),
              deployment: values.deployment,
              images: values.image?.length ? images() : undefined,
              changeCause: values['change-cause'],
              inputNames: { deployment: '--deployment', images: '--image' },
              onImageSet: (set) => {
                movedStable = set;
              },
            },
            logger,
          );
          logger.info(canarySummary('promote', r));
          break;
        }
        case 'abort':
          logger.info(
            canarySummary(
              'abort',
              await abortCanary({ ...cluster, ingress: need('ingress') }, logger),
            ),
          );
          break;
        case 'apply': {
          const r = await applyManifests(
            {
              ...cluster,
              manifests: values.manifest ?? [],
              fieldManager: values['field-manager'],
              force: !values['no-force'],
              dryRun: values['dry-run'],
            },
            logger,
          );
          logger.info(applySummary(r));
          break;
        }
        case 'run-job':
          logger.info(
            jobSummary(await runJob({ ...cluster, jobManifest: need('job-manifest') }, logger)),
          );
          break;
      }
      return 0;
    } catch (e) {
      if (e instanceof JobFailedError) {
        logger.info(jobSummary(e.result));
        logger.error(e.message);
        return 1;
      }
      if (e instanceof RolloutError) {
        logger.error(`${e.message} (reason: ${e.reason})`);
        if (movedStable) {
          const { deployment, namespace, previousRevision } = movedStable;
          logger.error(
            `the stable Deployment "${deployment}" is on the new images and the canary was left as it was; undo it with: runbook rollout undo -n ${namespace} --deployment ${deployment} --to-revision ${previousRevision}`,
          );
        }
        return 1;
      }
      const unreachable = unreachableServer(e);
      if (unreachable) {
        throw new ConfigError(
          `cannot reach the Kubernetes API server (${unreachable}): check the cluster's server in the kubeconfig${values.context ? ` (context ${values.context})` : ''} and that it is reachable from here`,
          undefined,
          'kubeconfig',
        );
      }
      throw e;
    }
  },
};

/**
 * The network error code of a request that never reached the API server (`fetch failed` with a
 * cause such as ECONNREFUSED, ENOTFOUND, EHOSTUNREACH, ETIMEDOUT), or undefined for any other
 * error. Node's fetch (undici) reports these as `TypeError: fetch failed` with `cause.code`.
 */
function unreachableServer(e: unknown): string | undefined {
  for (let c: unknown = e; c && typeof c === 'object'; c = (c as { cause?: unknown }).cause) {
    // A port the Fetch standard blocks (1, 22, 25, ...: fetch.spec.whatwg.org "bad port").
    if ((c as { message?: unknown }).message === 'bad port') return 'a port fetch refuses to use';
    const code = (c as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)$/.test(
        code,
      )
    ) {
      return code;
    }
  }
  return undefined;
}
