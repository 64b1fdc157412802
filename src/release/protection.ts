/**
 * Protection rules the release relies on, checked in preflight before anything runs.
 *
 * Every job that names an environment is held by that environment's protection rules, with
 * or without `deployment: false` (docs.github.com "Deployments and environments": required
 * reviewers, wait timers and custom deployment protection rules apply to each job that
 * references the environment). So:
 *
 * - the release environment (secrets for migrate, canary, flags, traffic, promote, rollback)
 *   must have no required reviewers, no wait timer and no custom rules: otherwise each traffic
 *   leg, and the rollback, would wait for a person (up to 30 days) or fail;
 * - the promotion environment must have required reviewers: it is the manual approval.
 */
import type { EnvironmentProtection } from '../github/environments.js';

/** What preflight found: `errors` refuse the release, `warnings` are annotations. */
export interface ProtectionCheck {
  errors: string[];
  warnings: string[];
}

const who = (r: EnvironmentProtection['rules'][number]) =>
  (r.reviewers ?? [])
    .map((x) => x.reviewer?.login ?? x.reviewer?.slug ?? x.reviewer?.name ?? '?')
    .join(', ');

/**
 * Checks the release and promotion environments' protection rules.
 * @param release - protection of the environment every job but the approval uses
 * @param promotion - protection of the approval environment
 */
export function checkProtection(
  release: EnvironmentProtection,
  promotion: EnvironmentProtection,
): ProtectionCheck {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const r of release.rules) {
    if (r.type === 'branch_policy') continue;
    if (r.type === 'wait_timer' && !r.wait_timer) continue;
    const what =
      r.type === 'required_reviewers'
        ? `required reviewers (${who(r)})`
        : r.type === 'wait_timer'
          ? `a wait timer of ${r.wait_timer} minutes`
          : `a custom protection rule (${r.type})`;
    errors.push(
      `environment '${release.name}' has ${what}: every job that uses it (each traffic step and the rollback) would wait for it, so a rollback could wait for a person. Remove the rule from '${release.name}' (Settings → Environments) and keep it on the promotion environment '${promotion.name}'.`,
    );
  }
  if (!promotion.exists) {
    errors.push(
      `environment '${promotion.name}' does not exist: create it with required reviewers (Settings → Environments → New environment) so promotion waits for a person.`,
    );
  } else if (
    !promotion.rules.some((r) => r.type === 'required_reviewers' && (r.reviewers ?? []).length > 0)
  ) {
    errors.push(
      `environment '${promotion.name}' has no required reviewers: promotion would go ahead without a person approving. Add required reviewers (Settings → Environments → ${promotion.name}).`,
    );
  } else if (promotion.canAdminsBypass) {
    warnings.push(
      `environment '${promotion.name}' lets administrators bypass its protection rules ("Allow administrators to bypass configured protection rules"); turn it off so every promotion is approved.`,
    );
  }
  return { errors, warnings };
}
