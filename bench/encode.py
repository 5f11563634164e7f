"""Encoder throughput (PyTorch fp32 vs int8 vs ONNX Runtime, single vs batched) and quality.

Usage:
    .venv/bin/python bench/encode.py [--data DIR] [--n 512] [--model DIR]
                                     [--batch-sizes 1,8,32,128] [--single 256] [--repeats 3]
                                     [--threads N] [--device cpu] [--clients C]
                                     [--retrieval-data DIR] [--out PATH]

--data DIR: a directory holding either `texts.txt` (UTF-8, one text per line, blank lines
skipped) or a CSV file with a header row and a `text` column (the first *.csv in sorted order;
other columns are ignored). Without --data a built-in set of 64 short support / finance /
product sentences is used. Texts are repeated or cut to --n.

The encoders (on CPU: PyTorch fp32, PyTorch int8, ONNX Runtime fp32 = `onnx` and ONNX
Runtime int8 = `onnx_int8`, the service's CPU default; on CUDA: fp32, bf16 autocast and bf16
weights, the choices of ML_ENCODER_PRECISION) are loaded into the same
process and measured side by side, batch size by batch size, alternating for --repeats rounds
and keeping each one's best, so the comparison shares threads, caches and machine state (the
1-minute load average is recorded: numbers taken while other jobs share the CPU are noisy).
"single" is `encode([t])` in a loop, the latency-bound path of a request that misses the
batcher. `--clients C` adds "batcher_C": C threads each sending one text at a time through
`ml.serving.MicroBatcher`, as the chat does.
Quality: cosine between the fp32 and the int8 (`quality`) or another mode's (`<mode>_quality`)
embedding of each distinct text (mean / p5 / min) and how often their nearest neighbours
(excluding the text itself) agree.
`--retrieval-data DIR` (train.csv and test.csv, columns `text,category`, Banking77's format)
adds what matters for the chat: for each test text, rank the categories by the best cosine to
their train texts (the chat's dense retrieval) and report recall@1 / recall@5 for every mode.
Writes bench/results/encode.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 - needs ROOT on sys.path
    RESULTS_DIR,
    read_labelled,
    read_texts,
    result_header,
    result_write,
)

DEFAULT_OUT = RESULTS_DIR / "encode.json"

BUILTIN_TEXTS = [
    "How do I reset my password?",
    "I forgot my login details and can't get into my account.",
    "My card was declined at the supermarket even though I have money.",
    "Why was I charged twice for the same order?",
    "Where is my parcel? It was supposed to arrive on Monday.",
    "Can I get a refund for a damaged item?",
    "The app crashes every time I open the settings page.",
    "Please close my account and delete my data.",
    "How long does an international transfer take?",
    "What is the exchange rate for euros to dollars today?",
    "I'd like to increase my credit limit.",
    "Is there a fee for withdrawing cash abroad?",
    "My contactless payments stopped working.",
    "The delivery driver left the package at the wrong address.",
    "Do you ship to Canada?",
    "Can I change the size of the shoes I ordered?",
    "The blender is very loud but crushes ice in seconds.",
    "Battery life on this laptop is excellent, easily ten hours.",
    "The headphones broke after two weeks of light use.",
    "Great value for money, would buy again.",
    "The instructions were confusing and a screw was missing.",
    "This jacket runs small, order one size up.",
    "Quarterly revenue rose 12% year over year on strong subscription growth.",
    "The central bank left interest rates unchanged at 4.5 percent.",
    "Shares fell sharply after the company cut its full-year guidance.",
    "Operating margin improved thanks to lower logistics costs.",
    "The board approved a dividend of 40 cents per share.",
    "Inflation slowed for the third consecutive month.",
    "The merger is expected to close in the second quarter.",
    "Net debt increased due to the acquisition of a competitor.",
    "I was promised a callback yesterday and nobody called.",
    "How do I update the billing address on my subscription?",
    "The coupon code doesn't work at checkout.",
    "Can I pause my subscription while I'm travelling?",
    "Your customer service agent was incredibly helpful, thank you!",
    "I need an invoice with my company's VAT number.",
    "The tracking number says the label was created but nothing since.",
    "Is my personal data shared with third parties?",
    "I want to dispute a transaction I don't recognise.",
    "How do I enable two-factor authentication?",
    "The verification code never arrives by SMS.",
    "Can I pay in instalments?",
    "What's your return policy for electronics?",
    "The product photos look nothing like what I received.",
    "Setup took five minutes and it worked straight away.",
    "The coffee machine leaks water from the bottom.",
    "My savings account interest wasn't paid this month.",
    "How do I add a second user to my business account?",
    "The mortgage application asks for three months of payslips.",
    "Can I transfer money to a friend using only their phone number?",
    "The screen scratches far too easily.",
    "Customer support resolved my issue in under ten minutes.",
    "I was charged a late fee although I paid on time.",
    "Which plan includes priority support?",
    "The software update deleted all my saved presets.",
    "Stock is listed as available but the order keeps getting cancelled.",
    "Analysts expect earnings per share of $1.35 for the quarter.",
    "The company announced layoffs affecting 8% of its workforce.",
    "Oil prices climbed after supply cuts were extended.",
    "Can you explain the difference between the basic and premium tiers?",
    "The fabric feels cheap and started pilling after one wash.",
    "Gift wrapping was beautiful and it arrived a day early.",
    "My account was locked after too many login attempts.",
    "Hi, is anyone there? I've been waiting for an hour.",
]


def load_texts(data: Path | None, n: int) -> list[str]:
    """Read the data dir (see module docstring), then repeat or cut to exactly n texts."""
    if data is None:
        base = list(BUILTIN_TEXTS)
    else:
        txt = data / "texts.txt"
        csvs = sorted(data.glob("*.csv"))
        if txt.is_file():
            lines = txt.read_text(encoding="utf-8").splitlines()
            base = [line.strip() for line in lines if line.strip()]
        elif csvs:
            base = read_texts(csvs[0])
        else:
            raise SystemExit(f"--data {data} has neither texts.txt nor a *.csv with a text column")
    if not base:
        raise SystemExit("no texts to encode")
    return [base[i % len(base)] for i in range(n)]


def model_name(model_dir: Path) -> str:
    """Dir name, with its parent when the name alone is generic (pip packages use `model`)."""
    name = model_dir.name
    return f"{model_dir.parent.name}/{name}" if name in {"model", "models", ""} else name


def measure(enc: Any, label: str, texts: list[str]) -> float:
    """Seconds to embed `texts` one call per text ("single"), with batch size N ("batch_N"), or
    one text per request from C concurrent clients through the serving micro-batcher
    ("batcher_C", what the chat server does)."""
    if label.startswith("batcher_"):
        return measure_batcher(enc, texts, int(label.removeprefix("batcher_")))
    started = time.perf_counter()
    if label == "single":
        for t in texts:
            enc.encode([t])
    else:
        enc.encode(texts, batch_size=int(label.removeprefix("batch_")))
    return time.perf_counter() - started


def measure_batcher(enc: Any, texts: list[str], clients: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from ml.serving import MicroBatcher

    def embed_rows(batch: list[str]) -> list[np.ndarray]:
        return list(enc.encode(batch, batch_size=len(batch)))

    with MicroBatcher(embed_rows, max_batch_size=64, max_wait_ms=2.0, name="bench") as batcher:
        with ThreadPoolExecutor(clients) as pool:
            batcher.submit(texts[0]).result()  # worker thread started and warm
            started = time.perf_counter()
            list(pool.map(lambda t: batcher.submit(t).result(), texts))
            return time.perf_counter() - started


def quality(fp32: np.ndarray, int8: np.ndarray) -> dict[str, float]:
    """Agreement of int8 with fp32 over distinct texts: per-text cosine and top-1 neighbour."""
    cos = (fp32 * int8).sum(axis=1)
    out = {
        "cos_mean": float(cos.mean()),
        "cos_p5": float(np.percentile(cos, 5)),
        "cos_min": float(cos.min()),
        "n_unique_texts": int(len(cos)),
    }
    if len(cos) >= 3:
        nn = []
        for emb in (fp32, int8):
            sim = emb @ emb.T
            np.fill_diagonal(sim, -np.inf)
            nn.append(sim.argmax(axis=1))
        out["top1_neighbour_agreement"] = float((nn[0] == nn[1]).mean())
    return out


def texts_and_labels(path: Path) -> tuple[list[str], list[str]]:
    rows = read_labelled(path)
    return [e.text.strip() for e in rows], [e.label for e in rows]


def retrieval_recall(encoders: dict[str, Any], data: Path) -> dict[str, Any]:
    """Dense retrieval recall@1/@5 of test categories from train texts, per encoder."""
    train_texts, train_labels = texts_and_labels(data / "train.csv")
    test_texts, test_labels = texts_and_labels(data / "test.csv")
    labels = sorted(set(train_labels))
    index = {label: i for i, label in enumerate(labels)}
    y_train = np.array([index[c] for c in train_labels])
    y_test = np.array([index.get(c, -1) for c in test_labels])
    out: dict[str, Any] = {"data": str(data), "n_train": len(train_texts)}
    out["n_test"] = len(test_texts)
    for name, enc in encoders.items():
        sims = enc.encode(test_texts, batch_size=128) @ enc.encode(train_texts, batch_size=128).T
        best = np.stack([sims[:, y_train == k].max(axis=1) for k in range(len(labels))], axis=1)
        order = np.argsort(-best, axis=1)
        out[name] = {
            "recall_at_1": float((order[:, 0] == y_test).mean()),
            "recall_at_5": float((order[:, :5] == y_test[:, None]).any(axis=1).mean()),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: MiniLM)")
    parser.add_argument("--batch-sizes", default="1,8,32,128")
    parser.add_argument(
        "--single",
        type=int,
        default=None,
        help="texts for the encode([t]) loop (default: min(n, 256))",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds per measurement, best kept (default 3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's choice); 1 is steadier "
        "on a CPU shared with other jobs",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=0,
        help="also measure C concurrent one-text requests through the micro-batcher (0: off)",
    )
    parser.add_argument("--device", default="cpu", help="auto/cpu/cuda; int8 runs on CPU only")
    parser.add_argument(
        "--retrieval-data", type=Path, default=None, help="train.csv + test.csv (text,category)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    if args.n < 1 or args.repeats < 1 or not batch_sizes or min(batch_sizes) < 1:
        parser.error("--n, --repeats and every --batch-sizes value must be >= 1")

    import torch
    from tqdm import tqdm

    if args.threads:
        torch.set_num_threads(args.threads)

    from ml.device import autocast_dtype, resolve_device
    from ml.embeddings import Encoder, EncoderConfig, default_base_model_dir

    model_dir = args.model or default_base_model_dir()
    texts = load_texts(args.data, args.n)
    n_single = min(args.n, args.single or 256)
    device = resolve_device(args.device)
    fp32 = EncoderConfig(model_dir=model_dir, device=device, runtime="torch", precision="fp32")
    modes = {"fp32": Encoder(fp32)}
    if device == "cpu":
        for name, runtime, int8 in (
            ("int8", "torch", True),
            ("onnx", "onnx", False),
            ("onnx_int8", "onnx", True),
        ):
            modes[name] = Encoder(
                EncoderConfig(
                    model_dir=model_dir, device=device, runtime=runtime, quantize_int8=int8
                )
            )
    else:  # the GPU choices of EncoderConfig.precision: autocast, or weights cast once
        half = str(autocast_dtype(device)).removeprefix("torch.")
        for precision, name in (("autocast", f"autocast_{half}"), ("half", half)):
            modes[name] = Encoder(replace(fp32, precision=precision))

    for enc in modes.values():  # warm up allocator, kernels and tokenizer caches
        enc.encode(texts[:32], batch_size=32)
        enc.encode(texts[:1])

    throughput: dict[str, dict[str, float]] = {m: {} for m in modes}
    runs = [("single", n_single)] + [(f"batch_{b}", args.n) for b in batch_sizes]
    if args.clients:
        runs.append((f"batcher_{args.clients}", args.n))
    total = sum(n for _, n in runs) * len(modes) * args.repeats
    bar = tqdm(total=total, unit="text", desc="encode bench")
    load_before = os.getloadavg()[0]
    for label, count in runs:
        for _ in range(args.repeats):  # alternate modes so drift and noise hit both alike
            for mode, enc in modes.items():
                rate = count / measure(enc, label, texts[:count])
                throughput[mode][label] = max(rate, throughput[mode].get(label, 0.0))
                bar.update(count)
    bar.close()
    load_after = os.getloadavg()[0]

    result: dict[str, Any] = {
        **result_header("encode", device=device),
        "quantized_engine": torch.backends.quantized.engine,
        "model": model_name(Path(model_dir)),
        "model_dir": str(model_dir),
        "max_seq_length": modes["fp32"].max_seq_length,
        "n": args.n,
        "n_single": n_single,
        "repeats": args.repeats,
        "load_avg_1m": {"before": load_before, "after": load_after, "cpus": os.cpu_count()},
        "data": str(args.data) if args.data else "builtin",
        "throughput_texts_per_s": throughput,
    }
    unique = list(dict.fromkeys(texts))
    variants = [m for m in modes if m != "fp32"]
    for variant in variants:
        result[f"{variant}_speedup"] = {
            label: throughput[variant][label] / throughput["fp32"][label] for label, _ in runs
        }
        result["quality" if variant == "int8" else f"{variant}_quality"] = quality(
            modes["fp32"].encode(unique), modes[variant].encode(unique)
        )
    if args.retrieval_data is not None:
        if (args.retrieval_data / "test.csv").is_file():
            result["retrieval"] = retrieval_recall(modes, args.retrieval_data)
        else:
            print(f"retrieval skipped: {args.retrieval_data}/test.csv not found")

    print(
        f"\nmodel={result['model']} device={device} threads={result['torch_threads']} "
        f"n={args.n} (single loop over {n_single})"
    )
    w = max(12, 2 + max(len(m) + 5 for m in modes))
    header = f"{'mode':<12}" + "".join(f"{m:>{w}}" for m in modes)
    header += "".join(f"{v + '/fp32':>{w}}" for v in variants)
    print(header + "   (texts/s)")
    for label, _ in runs:
        row = f"{label:<12}" + "".join(f"{throughput[m][label]:>{w}.1f}" for m in modes)
        row += "".join(f"{result[v + '_speedup'][label]:>{w - 1}.2f}x" for v in variants)
        print(row)
    for variant in variants:
        q = result["quality" if variant == "int8" else f"{variant}_quality"]
        print(
            f"{variant} vs fp32 over {q['n_unique_texts']} distinct texts: cos mean "
            f"{q['cos_mean']:.4f}, p5 {q['cos_p5']:.4f}, min {q['cos_min']:.4f}; top-1 "
            f"neighbour agreement {q.get('top1_neighbour_agreement', float('nan')):.3f}"
        )

    if "retrieval" in result:
        r = result["retrieval"]
        for name in modes:
            print(
                f"dense retrieval {name}: recall@1 {r[name]['recall_at_1']:.4f}, recall@5 "
                f"{r[name]['recall_at_5']:.4f} ({r['n_test']} test texts, {r['n_train']} train)"
            )

    result_write(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
