/**
 * metagrad: gradient-based meta-learning on a small higher-order autodiff engine.
 *
 * @packageDocumentation
 */
export { Tensor, type Constant, type GraphKey, type NestedArray, type Node, type VjpRule } from './tensor.js';
export { type DType, type TypedArray } from './dtype.js';
export { grad, backward, noGrad, enableGrad, isGradEnabled, type GradOptions, type BackwardOptions } from './autograd.js';
export { valueAndGrad, vjp, jvp, hvp, type TensorFn, type JvpMethod, type HvpMethod } from './functional.js';
export { tensor, full, zeros, ones, zerosLike, linspace, randn, rand, type TensorOptions, type RandomOptions } from './creation.js';
export { setPoolLimit, clearPool, pooledMemory, setSlabAllocation } from './storage.js';
export { tidy } from './tidy.js';
export { Rng, manualSeed, getDefaultRng } from './random.js';
export { type Shape } from './shape.js';
export { setBackend, getBackend, backendInfo, ready, type BackendName, type BackendChoice } from './kernels/backend.js';
export * from './ops/index.js';
export { mlp, activations, type MlpOptions, type ActivationName } from './nn/mlp.js';
export { type Model, type InitOptions, type ForwardContext } from './nn/model.js';
export { uniformFanIn, heNormal, glorotUniform, zerosInit, type Initializer } from './nn/init.js';
export { SGD, type SgdOptions, type SgdState } from './optim/sgd.js';
export { Adam, type AdamOptions, type AdamState } from './optim/adam.js';
export { type Optimizer } from './optim/optimizer.js';
export { differentiableSgd, differentiableAdam, type DifferentiableOptimizer, type DifferentiableSgdOptions, type DifferentiableAdamOptions } from './optim/differentiable.js';
export * from './meta/index.js';
export { MetaLearner, type MetaLearnerOptions, type MetaGradientOffload, type ClaimedBatch, type LearnerState, type MetaBatch } from './train/learner.js';
export { MAML, Reptile, type MamlOptions, type ReptileOptions } from './train/learners.js';
export { trainLoop, type TrainLoopOptions } from './train/loop.js';
export { TaskWorkers, type TaskWorkersOptions, type TaskThread, type ModelSpec } from './train/task-workers.js';
export type { TaskStart, TaskRequest, TaskReply, TaskReady, WireTask } from './train/task-server.js';
export { FewShotTrainer, PRESETS, fewShotModel, mamlTaskGradient, mamlTaskSettings, type FewShotConfig, type TaskEpisode } from './experiments/fewshot.js';
export * from './rl/index.js';
export * from './bayes/index.js';
export { CombinationCurve, FIGURE3_COMBINATIONS, FIGURE3_SETTINGS, FIGURE4_METHODS, figure4Points, figure4Coefficients, miniBatches, finishedRunJson, readFinishedRun, type FinishedRun, type Combination, type CurveSettings, type BatchScheme, type Figure4Method, type Figure4Point } from './experiments/reptile-figures.js';
export { SineTasks, type SineTask, type SineSetup, type SineOptions, type RegressionBatch } from './tasks/sine.js';
export { resizeArea, rotate, splitCharacters, CLASS_SPLITS, classesOf, sampleEpisode, episodeTask, type Character, type OmniglotClass, type Episode, type EpisodeTaskOptions } from './tasks/omniglot.js';
export { ZipArchive, type ZipEntry, type ZipOptions, type InflateRaw } from './io/zip.js';
export { decodePng, type GrayImage, type Inflate } from './io/png.js';
export { inflateRaw, inflateZlib, adler32 } from './io/inflate.js';
export { conv4, type Conv4Options, type Conv4Model, type BlockStats } from './nn/conv4.js';
export { StepStatistics, recordingMoments, type StepStatisticsOptions, type LayerMoments, type NormalizedModel, type NormalizedContext, type MomentRecord } from './nn/step-stats.js';
export { encodeSafetensors, decodeSafetensors } from './io/safetensors.js';
export { NoisyRegressionTasks, FunctionBatch, evaluateFunction, type NoisySetup, type NoisyRegressionOptions, type RegressionFunction } from './tasks/noisy-regression.js';
export { EmbeddingTrainer, embeddingSettings, featureEpisode, unitLength, type EmbeddingSettings } from './experiments/embeddings.js';
export { LeoTrainer, LEO_PRESETS, type LeoConfig } from './experiments/leo.js';
export { UncertaintyExperiment, UNCERTAINTY_METHODS, type UncertaintyMethod, type UncertaintySettings, type UncertaintyScores, type TaskPicture } from './experiments/uncertainty.js';
