/**
 * The inner-gradient family of the Reptile paper (§6.2) over any Task: the outer update direction
 * Σᵢ cᵢ gᵢ of the gradients g₁ … g_k met along k inner SGD steps. [0,…,0,1] is FOMAML, [1,…,1]
 * Reptile (its gradient, up to the factor α), [1,0,…] joint training.
 */
import { checkInteger, checkPositive } from '../checks.js';
import { supportLosses } from './adapt.js';
import { independentTasks, type MetaAlgorithm } from './algorithm.js';
import { combineInnerGradients } from './inner.js';

/** The settings of {@link innerGradientFamily}. */
export interface FamilySettings {
  /** Inner SGD step size α. */
  innerLr: number;
  /** The coefficients c₁ … c_k; their number is the number of inner steps. */
  coefficients: readonly number[];
}

/** The §6.2 family as a {@link MetaAlgorithm}: the mean over tasks of Σᵢ cᵢ gᵢ; its loss is the mean first inner loss. */
export function innerGradientFamily(settings: FamilySettings, owner = 'innerGradientFamily'): MetaAlgorithm & { readonly settings: Readonly<FamilySettings> } {
  const s = Object.freeze({ innerLr: settings.innerLr, coefficients: Object.freeze([...settings.coefficients]) });
  checkPositive(`${owner}: innerLr`, s.innerLr);
  checkInteger(`${owner}: the number of coefficients`, s.coefficients.length);
  const taskGradient: NonNullable<MetaAlgorithm['taskGradient']> = (model, params, task) => {
    const losses = supportLosses(model, task, s.coefficients.length);
    const grads = combineInnerGradients(params, losses, s.innerLr, s.coefficients, { tasks: task.stacked });
    // The loss before adaptation (mean over stacked tasks).
    const first = losses[0]!(params.map((p) => p.detach())).item() / (task.stacked ?? 1);
    return { grads, loss: first };
  };
  return independentTasks(owner, s, taskGradient, { kind: 'family', innerLr: s.innerLr, coefficients: s.coefficients });
}
