#!/usr/bin/env node
/**
 * The package's command, `npx metagrad <command> [flags]`: the repository's `npm run` CLIs
 * (sine, reproduce-sine, reproduce-reptile, omniglot, rl, bayes, leo) under one name. Each command has its own `--help`.
 */
const COMMANDS: Record<string, string> = {
  sine: './sine.js',
  'reproduce-sine': './reproduce-sine.js',
  'reproduce-reptile': './reproduce-reptile.js',
  omniglot: './omniglot.js',
  rl: './rl.js',
  bayes: './bayes.js',
  leo: './leo.js',
};

const USAGE = `usage: metagrad <command> [flags]

  sine             meta-train on sine-wave regression and draw the fitted curves
  reproduce-sine   the MAML paper's sine-regression figures, as a markdown report
  reproduce-reptile  the Reptile paper's Figure 3 (inner-gradient combinations on Omniglot)
  omniglot         few-shot Omniglot with the papers' presets, or a checkpoint's evaluation
  rl               meta-reinforcement learning: MAML-TRPO on 2-D navigation, and its evaluation
  bayes            PLATIPUS, BMAML, EMAML or MAML on noisy regression: uncertainty scores and a figure
  leo              LEO on Omniglot embeddings (latent embedding optimisation), or a checkpoint's evaluation

metagrad <command> --help lists a command's flags. Node flags (such as
--experimental-wasm-relaxed-simd, for the fused multiply-add kernels on Node 20) go before the
script: node --experimental-wasm-relaxed-simd $(npm root)/metagrad/build/src/cli/metagrad.js ...`;

const [command] = process.argv.slice(2);
if (command === undefined || command === '--help' || command === '-h') {
  console.log(USAGE);
  process.exitCode = command === undefined ? 2 : 0;
} else if (!Object.hasOwn(COMMANDS, command)) {
  console.error(`metagrad: unknown command '${command}'\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  // The command parses process.argv itself: drop the command's name from it.
  process.argv.splice(2, 1);
  await import(COMMANDS[command]!);
}
