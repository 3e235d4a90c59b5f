/** Meta-learning algorithms over Tasks, and their primitives. */
export { sgdInnerLoop, mamlGradient, reptileGradient, innerGradients, combineInnerGradients, tileParams, type LossFn, type Recompute, type InnerMode, type InnerResult, type MetaGradient } from './inner.js';
export { isTask, taskCount, supervisedTask, SupervisedTask, selectRows, type Task, type Targets, type PredictionLoss, type SupervisedData, type SupervisedOptions } from './task.js';
export { adapt, adaptRestoring, adaptWithOptimizer, supportLosses, type Adaptation, type Adapted } from './adapt.js';
export { meanGradient, type MetaAlgorithm, type MetaContext, type WorkerAlgorithm } from './algorithm.js';
export { maml, type MamlSettings, type MamlTaskSettings } from './maml.js';
export { reptile, epsilonAt, ReptileUpdate, type ReptileSettings } from './reptile.js';
export { innerGradientFamily, type FamilySettings } from './family.js';
export { mamlpp, mslWeights, cosineAnnealing, type MamlppSettings, type MamlppAlgorithm } from './mamlpp.js';
export { perTaskMse, summedTaskMse, meanTaskMse, stackedData, type StackedData } from './losses.js';
export { evaluate, adaptationCurve, adaptationLossesWithOptimizer, meanCI, type MeanCI, type EvalTask } from './evaluate.js';
export { leo, linearClassifier, orthogonalityPenalty, type LeoSettings, type LeoParams, type LeoNoise, type LeoObjective, type LeoAlgorithm } from './leo.js';
