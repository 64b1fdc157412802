/**
 * The `rollout` action: reads typed inputs, runs one command of the k8s engine (set-image, wait,
 * undo, set-weight, promote, abort, apply, run-job), writes outputs and the job summary.
 */
import {
  actionsLogger,
  confinedPath,
  inputs,
  mask,
  output,
  runAction,
  summary,
} from '../../../src/github/action.js';
import { ConfigError } from '../../../src/errors.js';
import { runInfo } from '../../../src/runinfo.js';
import {
  abortCanary,
  applyManifests,
  applySummary,
  canaryFailureSummary,
  CanaryStepError,
  canarySummary,
  connect,
  failureSummary,
  JobFailedError,
  jobSummary,
  parseImages,
  parseRouter,
  parseWeights,
  promoteCanary,
  ROLLOUT_COMMANDS,
  RolloutError,
  runJob,
  setImage,
  setImageChangeCause,
  setImageSummary,
  stepCanaryWeights,
  undoRollout,
  undoSummary,
  waitForRollout,
  waitSummary,
  type ClusterOptions,
  type ImageMap,
  type PollOptions,
  type SetImageResult,
  type TrafficRouter,
} from '../../../src/k8s/index.js';

await runAction(async () => {
  const command = inputs.choice('command', ROLLOUT_COMMANDS);
  const kubeconfig = inputs.secret('kubeconfig');
  const base: ClusterOptions = {
    kubeconfig,
    context: inputs.string('context') || undefined,
    namespace: inputs.string('namespace', { default: 'default' }),
  };
  const clients = connect(base);
  for (const s of clients.secrets) mask(s);
  const poll: PollOptions = {
    timeoutMs: inputs.durationMs('timeout', '10m'),
    pollIntervalMs: inputs.durationMs('poll-interval', '2s'),
  };
  const cluster = { ...base, clients, ...poll };
  const logger = actionsLogger;
  const need = (name: string) => inputs.string(name, { required: true });
  const run = runInfo();
  const images = () => parseImages(inputs.list('images'));
  /** The image outputs every command that changes a Deployment's images sets. */
  const imageOutputs = (previous: ImageMap, previousRevision: number, revision: number) => {
    output('previous-image', previous);
    output('previous-revision', String(previousRevision));
    output('revision', String(revision));
  };
  /** The stable Deployment a promotion moved to the new images (set before its rollout is waited for). */
  let movedStable: SetImageResult | undefined;
  /** The traffic router of set-weight, promote and abort. */
  const router = (): TrafficRouter =>
    parseRouter({
      kind: inputs.string('router') || undefined,
      name: inputs.string('route') || undefined,
      ingress: inputs.string('ingress') || undefined,
      canaryService: inputs.string('canary-service') || undefined,
      stableService: inputs.string('stable-service') || undefined,
    });
  /** The job a run-job created (set as soon as it exists). */
  let createdJob: { name: string; namespace: string } | undefined;
  const ns = base.namespace ?? 'default';
  /** The action step that sends all traffic back to the stable Service. */
  const abortStep = (r: TrafficRouter) =>
    `run this action with \`command: abort\`, \`namespace: ${ns}\`, ${
      r.kind === 'ingress-nginx'
        ? `\`ingress: ${r.ingress}\``
        : `\`router: ${r.kind}\`, \`route: ${r.name}\`, \`canary-service: ${r.canaryService}\`, \`stable-service: ${r.stableService}\``
    } (\`runbook rollout abort -n ${ns} ${
      r.kind === 'ingress-nginx'
        ? `--ingress ${r.ingress}`
        : `--router ${r.kind} --route ${r.name} --canary-service ${r.canaryService} --stable-service ${r.stableService}`
    }\`).`;
  try {
    switch (command) {
      case 'set-image': {
        const wanted = images();
        const changeCause =
          inputs.string('change-cause') || setImageChangeCause(wanted, run.actor, run.runUrl);
        const r = await setImage(
          { ...cluster, deployment: need('deployment'), images: wanted, changeCause },
          logger,
        );
        imageOutputs(r.previousImages, r.previousRevision, r.revision);
        await summary(setImageSummary(r));
        break;
      }
      case 'wait': {
        const r = await waitForRollout({ ...cluster, deployment: need('deployment') }, logger);
        output('revision', String(r.revision));
        await summary(waitSummary(r));
        break;
      }
      case 'undo': {
        const r = await undoRollout(
          {
            ...cluster,
            deployment: need('deployment'),
            toRevision: inputs.number('to-revision', 0, { min: 0 }),
          },
          logger,
        );
        imageOutputs(r.previousImages, r.fromRevision, r.revision);
        await summary(undoSummary(r));
        break;
      }
      case 'set-weight': {
        const weights = parseWeights(inputs.list('weights'));
        const r = await stepCanaryWeights(
          {
            ...cluster,
            router: router(),
            weights,
            pauseMs: inputs.durationMs('pause', '0s'),
          },
          logger,
        );
        output('weight', String(r.weight));
        await summary(canarySummary('set-weight', r));
        break;
      }
      case 'abort': {
        const r = await abortCanary({ ...cluster, router: router() }, logger);
        output('weight', String(r.weight));
        await summary(canarySummary('abort', r));
        break;
      }
      case 'promote': {
        const list = inputs.list('images');
        const deployment = inputs.string('deployment');
        // promoteCanary refuses a deployment without images and images without a deployment
        const r = await promoteCanary(
          {
            ...cluster,
            router: router(),
            deployment: deployment || undefined,
            images: list.length ? parseImages(list) : undefined,
            changeCause: inputs.string('change-cause') || undefined,
            // Written before the stable rollout is waited for, so a rollback step can undo the
            // stable Deployment when the promotion fails after changing it.
            onImageSet: (s) => {
              movedStable = s;
              imageOutputs(s.previousImages, s.previousRevision, s.revision);
            },
          },
          logger,
        );
        output('weight', String(r.weight));
        if (r.setImage) {
          const { previousImages, previousRevision, revision } = r.setImage;
          imageOutputs(previousImages, previousRevision, r.wait?.revision ?? revision);
        }
        await summary(canarySummary('promote', r));
        break;
      }
      case 'apply': {
        const manifests = inputs.list('manifests').map((m) => confinedPath('manifests', m));
        if (manifests.length === 0)
          throw new ConfigError('is required for apply', undefined, 'manifests');
        const r = await applyManifests(
          {
            ...cluster,
            manifests,
            fieldManager: inputs.string('field-manager', { default: 'runbook-actions' }),
          },
          logger,
        );
        await summary(applySummary(r));
        break;
      }
      case 'run-job': {
        const r = await runJob(
          {
            ...cluster,
            jobManifest: confinedPath('job-manifest', need('job-manifest')),
            onCreated: (job) => {
              createdJob = job;
              output('job-name', job.name);
            },
          },
          logger,
        );
        output('job-name', r.name);
        await summary(jobSummary(r));
        break;
      }
    }
  } catch (e) {
    if (e instanceof CanaryStepError) {
      output('weight', String(e.state.weight));
      await summary(canaryFailureSummary(command, e.message, e.state, abortStep(router())));
    } else if (e instanceof JobFailedError) {
      output('job-name', e.result.name);
      await summary(jobSummary(e.result));
    } else if (!(e instanceof ConfigError) && !(e instanceof RolloutError)) {
      // A lost or failing API server: say what state things are in and how to go on.
      let md = failureSummary(command, (e as Error).message.split('\n')[0]);
      if (command === 'run-job' && createdJob)
        md += `\nThe Job \`${createdJob.name}\` was created in namespace \`${createdJob.namespace}\` and may still be running (output \`job-name\`); check it with \`kubectl -n ${createdJob.namespace} get job ${createdJob.name}\` before running it again.\n`;
      else if (command === 'wait')
        md += `\nThe rollout itself may go on. Run \`command: wait\` again, or roll back with \`command: undo\` (\`kubectl rollout undo\`).\n`;
      else if (command === 'promote' && movedStable)
        md += `\nThe stable Deployment was moved to the new images; undo it with \`command: undo\`, \`deployment: ${movedStable.deployment}\`, \`to-revision: ${movedStable.previousRevision}\`.\n`;
      await summary(md);
    } else if (e instanceof RolloutError) {
      let md = failureSummary(command, `${e.message} (reason: ${e.reason})`);
      if (movedStable) {
        md +=
          `\nThe stable Deployment was moved to the new images before its rollout failed; the canary Ingress was left as it was. ` +
          `Undo it with \`command: undo\`, \`deployment: ${movedStable.deployment}\`, \`to-revision: ${movedStable.previousRevision}\` (output \`previous-revision\`).\n\n` +
          setImageSummary(movedStable);
      } else if (command === 'wait') {
        md += `\nRoll back with \`command: undo\` (\`kubectl rollout undo\`): the Deployment goes back to its previous revision.\n`;
      }
      await summary(md);
    }
    throw e;
  }
});

// Idle keep-alive connections to the API server (and a request a hung server never answered)
// would hold the step open for seconds after its result is written: end now, with the exit code
// runAction set. Output is written synchronously (files and pipes), so nothing is lost.
process.exit();
