// Your own model and task, meta-trained with second-order MAML through the MetaLearner:
//   node examples/own-model-and-task.mjs
// Tasks: tell the two sides of a random line through the origin apart from 10 labelled points.
import * as mg from 'metagrad';

const rng = new mg.Rng(1);

// A model is anything with init() and forward(params, x); params are a flat list of tensors.
const model = {
  init: ({ rng } = {}) => [mg.scale(mg.randn([2, 16], { rng }), 0.5), mg.zeros([16]), mg.scale(mg.randn([16, 2], { rng }), 0.5), mg.zeros([2])],
  forward: ([w1, b1, w2, b2], x) => mg.add(mg.matmul(mg.tanh(mg.add(mg.matmul(x, w1), b1)), w2), b2),
};

// A task is a support set to adapt on and a query set to score; supervisedTask makes one from arrays.
function lineTask() {
  const angle = rng.uniformIn(0, 2 * Math.PI);
  const points = () => {
    const xs = Array.from({ length: 10 }, () => [rng.uniformIn(-1, 1), rng.uniformIn(-1, 1)]);
    return [mg.tensor(xs), xs.map(([a, b]) => (a * Math.cos(angle) + b * Math.sin(angle) > 0 ? 1 : 0))];
  };
  const [xSupport, ySupport] = points();
  const [xQuery, yQuery] = points();
  return mg.supervisedTask({ xSupport, ySupport, xQuery, yQuery }, { loss: 'cross-entropy' });
}

const algorithm = mg.maml({ innerLr: 0.5, innerSteps: 1, firstOrder: false, tail: 'separate' });
const learner = new mg.MetaLearner(model, model.init({ rng }), algorithm, new mg.Adam({ lr: 3e-3 }));
const testTasks = Array.from({ length: 200 }, lineTask);
const accuracyAfter3 = (params) => mg.evaluate(model, params, testTasks, [3], 0.5).get(3).mean;

const before = accuracyAfter3(learner.params);
for (let i = 0; i < 300; i++) learner.step(Array.from({ length: 8 }, lineTask));
const after = accuracyAfter3(learner.params);
console.log(`query accuracy after 3 steps on a new task: ${(100 * before).toFixed(1)}% from the initial weights, ${(100 * after).toFixed(1)}% after 300 meta-iterations`);
