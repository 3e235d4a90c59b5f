// Bayesian MAML on noisy few-shot regression: an ensemble of particles meta-trained with SVGD
// inside, then a predictive distribution for a new task from its five noisy points.
//   node examples/uncertainty.mjs
import * as mg from 'metagrad';

const rng = new mg.Rng(0);
const model = mg.mlp([1, 40, 40, 1]);
const tasks = new mg.NoisyRegressionTasks({ setup: 'ambiguous', shots: 5, rng }); // sines or lines, noise 0.3
const particles = mg.initParticles(model, 5, { rng }); // 5 parameter sets, each tensor [5, …]
const algorithm = mg.bmaml({ innerLr: 0.01, innerSteps: 5 }); // five SVGD steps on the support points
const learner = new mg.MetaLearner(model, particles, algorithm, new mg.Adam({ lr: 1e-3 }));

// Mean squared error of the ensemble's mean against the noise-free functions of 50 new tasks.
const testTasks = new mg.NoisyRegressionTasks({ setup: 'ambiguous', shots: 5, rng: new mg.Rng(1) }).sampleBatch(50);
const grid = mg.reshape(mg.linspace(-5, 5, 40), [40, 1]);
function score(params) {
  let mse = 0;
  testTasks.split().forEach((task, t) => {
    const outputs = mg.predictParticles(model, algorithm.adapt(model, params, task), grid); // [5, 40, 1]
    const { mean } = mg.regressionPredictive(outputs);
    const truth = Array.from(grid.data, (x) => mg.evaluateFunction(testTasks.functions[t], x));
    mse += mg.regressionScores({ mean, variance: new Float64Array(40).fill(1) }, truth).mse / 50;
  });
  return mse;
}

const before = score(learner.params);
for (let i = 0; i < 300; i++) learner.step(tasks.sampleBatch(5));
console.log(`MSE of the ensemble's mean on 50 new tasks: ${before.toFixed(2)} before meta-training, ${score(learner.params).toFixed(2)} after 300 meta-iterations`);

// One new task: the predictive mean and a 90% interval (the ensemble's spread plus the noise).
const task = testTasks.split()[0];
const p = mg.regressionPredictive(mg.predictParticles(model, algorithm.adapt(model, learner.params, task), grid), { noiseVariance: 0.09 });
for (const i of [0, 20, 39]) console.log(`x = ${grid.data[i].toFixed(2)}: ${p.mean[i].toFixed(2)} ± ${(1.645 * Math.sqrt(p.variance[i])).toFixed(2)}`);
