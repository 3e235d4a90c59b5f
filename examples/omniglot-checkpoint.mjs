// Few-shot accuracy of a shipped Omniglot checkpoint on new characters:
//   node examples/omniglot-checkpoint.mjs [OMNIGLOT_DIR] [CHECKPOINT]
// OMNIGLOT_DIR holds images_background.zip and images_evaluation.zip (default ../shared/data/omniglot).
import * as mg from 'metagrad';
import { loadOmniglot, loadSafetensors } from 'metagrad/node';

const dataDir = process.argv[2] ?? '../shared/data/omniglot';
const file = process.argv[3] ?? new URL('../results/omniglot/maml-5way-1shot.safetensors', import.meta.url).pathname;

// A checkpoint says what it is: the configuration it was trained with and (from the CLI) its seed,
// which also fixed the split of characters into training and test.
const saved = loadSafetensors(file);
const { config, iteration } = JSON.parse(saved.metadata.metagrad);
const { seed } = JSON.parse(saved.metadata.run ?? '{"seed":0}');
const split = mg.CLASS_SPLITS[config.split ?? 'standard'];
const { train, test } = mg.splitCharacters(loadOmniglot(dataDir), new mg.Rng(seed), split.train, split.validation);

const trainer = new mg.FewShotTrainer(mg.fewShotModel(config), mg.classesOf(train, true), config, seed);
trainer.setState(saved);
const r = trainer.evaluate(mg.classesOf(test, false), 50, true, new mg.Rng(7));
console.log(`${config.nWay}-way ${config.kShot}-shot after ${iteration} iterations: ${(100 * r.mean).toFixed(1)}% ± ${(100 * r.ci95).toFixed(1)} on ${r.n} episodes of test characters`);
