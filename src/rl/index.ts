/** Meta-reinforcement learning: environments, Gaussian policies, policy-gradient Tasks, TRPO, MAML-TRPO. */
export { type Environment, type EpisodeBatch, type StepResult } from './environment.js';
export { Navigation2D, type NavigationGoal } from './navigation.js';
export { gaussianMlpPolicy, type GaussianPolicy, type GaussianPolicyOptions } from './policy.js';
export { rollout, averageReturns, advantages, type Rollouts } from './rollout.js';
export { fitLinearBaseline, ridgeSolve } from './baseline.js';
export { PolicyGradientTask, policyBatch, surrogate, meanKl, type PolicyBatch } from './policy-task.js';
export { conjugateGradient, klCurvature, trpoStep, type TrpoSettings, type TrpoResult } from './trpo.js';
export { mamlTrpoStep, pretrainTrpoStep, adaptationReturns, type MetaRlSettings, type MetaRlStep, type AdaptationOptions } from './maml-rl.js';
export { PlanarRunner, type RunnerTask } from './runner.js';
