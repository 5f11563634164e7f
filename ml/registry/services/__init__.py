"""Registry writes. Import from here: `from ml.registry import services`.

Split by concern: `queueing` (validate, save and queue a fine-tune), `training` (run one on a
worker, cancel, reap dead runs), `stages` (promote, roll back, archive). The submodules import
each other, never this package.
"""

from ml.registry.services.queueing import (
    TRAIN_TASK_NAME,
    InvalidTrainingRequest,
    artifacts_root,
    model_version_queue,
    model_version_retrain,
    training_request_validate,
    version_dir,
)
from ml.registry.services.stages import (
    model_version_archive,
    model_version_promote,
    model_version_rollback,
)
from ml.registry.services.training import (
    CANCEL_CHECK_INTERVAL_S,
    PROGRESS_WRITE_INTERVAL_S,
    model_version_cancel,
    model_version_reap_stale,
    model_version_train,
)

__all__ = [
    "CANCEL_CHECK_INTERVAL_S",
    "PROGRESS_WRITE_INTERVAL_S",
    "TRAIN_TASK_NAME",
    "InvalidTrainingRequest",
    "artifacts_root",
    "model_version_archive",
    "model_version_cancel",
    "model_version_promote",
    "model_version_queue",
    "model_version_reap_stale",
    "model_version_retrain",
    "model_version_rollback",
    "model_version_train",
    "training_request_validate",
    "version_dir",
]
