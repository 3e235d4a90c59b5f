/** Meta-learners and their primitives. */
export { adaptWithOptimizer, sgdInnerLoop, mamlGradient, reptileGradient, innerGradients, combineInnerGradients, tileParams, type LossFn, type InnerMode, type InnerResult, type MetaGradient } from './inner.js';
export { perTaskMse, summedTaskMse, meanTaskMse } from './losses.js';
export { MAML, type MamlOptions } from './maml.js';
export { Reptile, type ReptileOptions } from './reptile.js';
export { evaluate, adaptationCurve, adaptationLossesWithOptimizer, meanCI, type MeanCI } from './evaluate.js';
export { FewShotTrainer, PRESETS, mamlTaskGradient, mamlTaskSettings, type FewShotConfig, type TaskEpisode, type MamlTaskSettings, type MetaGradientOffload } from './fewshot.js';
export { TaskWorkers, type TaskWorkersOptions, type TaskThread } from './task-workers.js';
