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
  canarySummary,
  connect,
  failureSummary,
  JobFailedError,
  jobSummary,
  parseImages,
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
            ingress: need('ingress'),
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
        const r = await abortCanary({ ...cluster, ingress: need('ingress') }, logger);
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
            ingress: need('ingress'),
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
          { ...cluster, jobManifest: confinedPath('job-manifest', need('job-manifest')) },
          logger,
        );
        output('job-name', r.name);
        await summary(jobSummary(r));
        break;
      }
    }
  } catch (e) {
    if (e instanceof JobFailedError) {
      output('job-name', e.result.name);
      await summary(jobSummary(e.result));
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
