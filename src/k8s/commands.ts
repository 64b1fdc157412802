/**
 * The rollout engine's commands as the `rollout` action's `command` input and `runbook rollout`
 * both name them, and the change-cause both record by default.
 */
import { describeImages, type ImageMap } from './rollout.js';

/** Every rollout command, in the order the action and the CLI document them. */
export const ROLLOUT_COMMANDS = [
  'set-image',
  'wait',
  'undo',
  'set-weight',
  'promote',
  'abort',
  'apply',
  'run-job',
] as const;

/** One of {@link ROLLOUT_COMMANDS}. */
export type RolloutCommand = (typeof ROLLOUT_COMMANDS)[number];

/** Whether `name` is one of {@link ROLLOUT_COMMANDS}. */
export function isRolloutCommand(name: string | undefined): name is RolloutCommand {
  return (ROLLOUT_COMMANDS as readonly (string | undefined)[]).includes(name);
}

/**
 * The default `kubernetes.io/change-cause` of a `set-image`:
 * `set image api=repo:v2 by <actor> (<origin>)`.
 *
 * @param images the images being set
 * @param actor who runs the command (GitHub login or local user)
 * @param origin where it runs, e.g. the workflow run URL or `runbook cli`; omitted when undefined
 */
export function setImageChangeCause(images: ImageMap, actor: string, origin?: string): string {
  return `set image ${describeImages(images)} by ${actor}${origin ? ` (${origin})` : ''}`;
}
