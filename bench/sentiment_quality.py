"""Financial news sentiment quality: which fine-tuning techniques help `sentiment.headline`.

Usage:
    .venv/bin/python bench/sentiment_quality.py --data DIR [--techniques a,b,...]
        [--model DIR] [--device auto] [--threads N] [--seed 42] [--model-cache DIR]
        [--out bench/results/sentiment_quality.json]

DIR is the Financial PhraseBank folder (`Sentences_50Agree.txt`, optionally
`Sentences_AllAgree.txt`; `sentence@label`, latin-1; see
/work/shared/datasets/financial_phrasebank/SOURCE.md) or any folder with `train.csv` and
`test.csv` (columns `text,label`, labels positive / neutral / negative). Without either it
prints why and exits 0. The split (bench/sentimentquality/data.py): PhraseBank's 50 %-agree
sentences, de-duplicated, stratified 80/10/10 with `--seed`; the all-agree figures score the
same trained model on the test split's sentences that all annotators agreed on.

Each technique (bench/sentimentquality/techniques.py) is a row: models are trained with
`ml.training.train_text_model`, the trainer `sentiment.headline` versions go through, and scored
with `ml.serving.scoring.texts_score`, the batch-scoring path, which also gives the speed:
headlines/s for the whole test split in one call (bulk) and one headline per call. Every choice
(epoch, C, the served row) is made on validation; test is only reported. The served row is the
best validation macro-F1 among rows that reach the bulk speed target; its figures are the
top-level `accuracy`, `macro_f1`, `allagree_*`, `train_seconds`, `headlines_per_s`.

Fine-tuning MiniLM on the ~3.9k training sentences takes minutes per model on a CPU; run a
subset with `--techniques` and keep models with `--model-cache DIR`, so a later full run only
re-scores them. The JSON is rewritten after every row (`complete` says whether every requested
row is in) and records the device, threads and load average: speeds on a busy machine are low.
Writes bench/results/sentiment_quality.json and prints a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sentimentquality.cli import main  # noqa: E402 - needs ROOT on sys.path

if __name__ == "__main__":
    raise SystemExit(main())
