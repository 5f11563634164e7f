"""Start-up logs show the suite's own lines, not third-party chatter (FAISS, ONNX quantiser)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh process, as at start-up: Django's LOGGING, FAISS imported for the first time, and
# ONNX Runtime quantising a one-MatMul model (it logs "Ignore MatMul ..." through the root
# logger, as it does ~40 times for the MiniLM encoder).
STARTUP = """
import logging, sys
import django
django.setup()
import faiss  # noqa: F401
import onnx
from onnx import TensorProto, helper
from onnxruntime.quantization import QuantType, quantize_dynamic

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])
z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4])
graph = helper.make_graph([helper.make_node("MatMul", ["x", "y"], ["z"])], "g", [x, y], [z])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
out = sys.argv[1]
onnx.save(model, out + "/fp32.onnx")
quantize_dynamic(out + "/fp32.onnx", out + "/int8.onnx", weight_type=QuantType.QInt8)
logging.getLogger("apps.chat.services").info("suite line")
logging.warning("a library warning through root")
"""


def test_startup_log_keeps_the_suites_lines_and_drops_library_chatter(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOG_")}
    result = subprocess.run(
        [sys.executable, "-c", STARTUP, str(tmp_path)],
        cwd=ROOT,
        env={**env, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "int8.onnx").is_file()  # the quantiser really ran
    log = result.stderr
    assert "INFO" in log and "apps.chat.services: suite line" in log
    assert "WARNING" in log and "a library warning through root" in log
    assert "faiss.loader" not in log
    assert "Ignore MatMul" not in log


def test_library_loggers_sit_at_warning_under_the_settings() -> None:
    assert logging.getLogger("faiss.loader").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("apps.chat").getEffectiveLevel() <= logging.INFO
