"""Chat answering quality: intent fine-tuning, KB retrieval, and unknown-question hand-off.

Usage:
    .venv/bin/python bench/chat_quality.py --data DIR [--epochs N] [--max-train N]
        [--max-test N] [--model DIR] [--device auto] [--int8] [--mixed-precision]
        [--threads N] [--seed 42] [--out bench/results/chat_quality.json]
    .venv/bin/python bench/chat_quality.py --data DIR --sweep [--max-train N]
    .venv/bin/python bench/chat_quality.py --data DIR --labelled-oos M [--oos-intents 10]

DIR holds `train.csv` and `test.csv` with columns `text,category` (Banking77's format); without
them the benchmark prints why and exits 0. Test rows are used for final numbers only: every
choice (hyper-parameters, score calibration, thresholds, logistic-regression C) is made on a
stratified validation split of train (`--val-fraction`, seed `--seed`).

Steps (each long one shows a progress bar):
1. Intent classifier: fine-tune the base model (MiniLM) with `ml.training.train_text_model` on
   the train split; accuracy / macro-F1 on test, beside a frozen-embedding logistic regression.
2. Knowledge base: one entry per intent whose phrasings are the train-split questions, in an
   `ml.index.VectorIndex`. Test questions are ranked with `apps.chat.answering.rank_entries`:
   dense only and dense + classifier, with base-encoder vectors (what the service indexes) and
   with the fine-tuned model's `embed()`. The calibration constants (softmax temperature,
   classifier weight) are fitted on the validation split and reported.
3. Unknown questions: `--oos-intents` intents (seeded) are removed from training and from the
   knowledge base and a second classifier is trained without them. Thresholds are chosen on
   validation questions (in-scope validation split + all train questions of the held-out
   intents, disjoint from test) and applied to test. Only "handoff" counts as a correct outcome
   for a held-out-intent question. In-scope accuracy is strict (answered with the right entry)
   and lenient (also "suggest" with the right entry in the top 3).

`--sweep` instead trains each SWEEP_CONFIGS variant (on at most `--max-train` rows of the train
split), scores all of them on the whole validation split and writes
bench/results/chat_quality_sweep.json; the main run records that summary when it exists.
`--labelled-oos M` instead measures the "Out of scope" learning loop: besides the
`--oos-intents` unseen intents of step 3, M more intents (seeded, disjoint) leave the knowledge
base and their train questions become examples of the reserved out-of-scope label, as if an
admin had marked them. Two classifiers are trained on the remaining intents, without and with
those examples; the service's confidence (top score x (1 - P(out of scope))) gets thresholds
chosen on validation exactly as in step 3, and the test reports OOS recall on the unseen
intents (the target's question: does marking some topics teach the bot about others?), on the
marked intents' own test questions, and in-scope accuracy. Writes
bench/results/chat_quality_labelled_oos.json.
`--threads 1` is much faster than torch's default on a CPU shared with other jobs (fewer
threads fighting over the same cores); the JSON records threads and load average.
Writes bench/results/chat_quality.json and prints a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.chatquality.cli import main  # noqa: E402 - needs ROOT on sys.path

if __name__ == "__main__":
    raise SystemExit(main())
