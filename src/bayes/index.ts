/** Probabilistic and Bayesian meta-learning: PLATIPUS, BMAML and EMAML, SVGD, and predictive distributions. */
export { svgdStep, svgdDirection, rbfKernel, particleDistances, medianBandwidth, particleCount } from './svgd.js';
export { initParticles, particle, particleTask, predictParticles } from './particles.js';
export { bmaml, emaml, type BmamlSettings, type EmamlSettings, type EnsembleAlgorithm } from './bmaml.js';
export { platipus, type PlatipusSettings, type PlatipusParams, type PlatipusAlgorithm } from './platipus.js';
export { regressionPredictive, regressionScores, classProbabilities, calibration, normalQuantile, type RegressionPredictive, type RegressionScores, type Calibration, type ReliabilityBin } from './predictive.js';
