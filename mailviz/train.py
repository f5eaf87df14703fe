r"""The training loop: SGD, LR schedules, burn-in, history, cache, crash-safe resume, DDP.

One call trains (or loads) the model an :class:`~mailviz.config.ExperimentConfig` describes::

    from mailviz.config import get_profile
    from mailviz.train import train
    run = train(get_profile("quick", method="mail_trades"))
    run.model, run.history.tail(), run.path

Each epoch ``e`` (0-based; the objective uses it for burn-in) minimises the method's loss
``L(θ) = (1/B) Σ_i ω_i ℓ(f_θ(x_i'), y_i)`` (MAIL Alg. 2–4; Zeng et al. eq. 7; the objective
builds x' with the inner maximisation and ω) with SGD

    v ← μ·v + (∇L + λ·θ),   θ ← θ − η_e·v          (Nesterov: θ ← θ − η_e·(∇L + λθ + μ·v))

and the learning rate ``η_e = lr · s(e)``, stepped once per epoch:
``constant`` s = 1; ``multistep`` s = decay^{#{m ∈ milestones : m ≤ e}} (×0.1 at 75, 90, 100 in
the paper profile: epochs 0–74 use lr); ``cosine`` s = ½(1 + cos(π e / epochs)).

Run directory ``<cache_dir>/<method>-<dataset>-<model>-<config_hash>/``:

==================  ======================================================================
``config.json``     the config (``ExperimentConfig.to_dict()``), written when training starts
``history.csv``     one row per finished epoch (see below), rewritten every epoch
``checkpoint.pt``   model, optimizer, LR schedule, grad scaler, objective state, history and
                    every RNG state, written atomically after every epoch (resume point)
``model.pt``        final weights + config + history, written once training completes
                    (``checkpoint.pt`` is deleted then: ``model.pt`` supersedes it)
==================  ======================================================================

History columns: ``epoch`` (1-based count of finished epochs), ``lr``, ``loss`` (mean training
loss), ``train_adv_acc`` (accuracy on the training adversarial examples, from the objective's
``stats["correct"]``), ``weight_mean``/``weight_std``/``weight_min``/``weight_max`` (of the
per-example weights ω actually used, over the epoch), ``margin_mean`` (mean PM of x'),
``kappa_mean`` (GAIRAT's κ; NaN for other methods), ``nat_acc`` and ``pgd_acc`` (held-out clean
and PGD-``eval_steps`` accuracy with step ``effective_eval_step_size`` on the test split or its
first ``eval_subset`` examples), ``epoch_seconds`` (training time) and ``eval_seconds``.
Accuracies are percentages in [0, 100], as in :mod:`mailviz.evaluate`.

Cache and resume. ``config_hash`` ignores device and profile, so the same experiment maps to
the same folder on every machine; a thread count other than 1 (or None) is part of the key,
because on the CPU it changes the weights. With ``use_cache=True`` a finished run (``model.pt``)
is loaded instead of trained. With ``resume=True`` an unfinished run continues after the last
finished epoch in ``checkpoint.pt``; every RNG stream is restored, so on the CPU the resumed run
ends with weights bit-identical to an uninterrupted one (a kill mid-epoch loses that epoch).
The thread count in force is recorded in ``checkpoint.pt`` and ``model.pt``; a CPU run whose
checkpoint was written at another count is not resumed (one line: resume with
``threads=<recorded>`` or start over with ``resume=False``). ``checkpoint.pt`` is written before
``history.csv``, so the history never runs ahead of the resume point.

Nothing half-written stays behind. Every file goes through :func:`mailviz.checkpoint.atomic_write`
(temporary files of a killed writer are removed by the next run, and by a run that finishes).
A training step whose loss is NaN or inf stops the run with :class:`NonFiniteLossError`, one
line naming the epoch and step, and the run folder is removed: nothing is cached that a later
run would load. A run that fails before its first checkpoint (missing data, an interrupt)
leaves no folder either; one that fails later keeps its last checkpoint to resume from.

Scale-out. Under ``torchrun --nproc_per_node N`` the same call opens a process group (gloo on
CPU, nccl on CUDA), wraps the model in ``DistributedDataParallel`` and gives each rank a disjoint
shard of each epoch's permutation by ``DistributedSampler``'s rule
(:func:`mailviz.distributed.shard_indices`). ``batch_size`` is per rank (effective batch
``N × batch_size``). The inner maximisation runs on the unwrapped ``ddp.module``; rank 0 writes
all files and holds the run lock for the whole job (the lock a single process takes too; if
another process holds it, every rank stops with :class:`RunBusyError`, one line, instead of
waiting into a barrier timeout); ranks meet at a barrier after every epoch. The non-finite loss
check then runs on the epoch's all-reduced loss, so all ranks stop together.

CUDA: autocast in bf16 (``amp="auto"`` when supported, else fp16 with a GradScaler; ``"none"``
disables it) and channels_last for conv nets. The CPU path always computes in float32.

Host syncs. With the environment variable ``MAILVIZ_SKIP_CHECKS=1`` the epochs run inside
:func:`mailviz.checks.skip_host_syncs`: the per-step checks of tensor contents (pixels in [0, 1],
finite non-negative weights, κ in range), each a host sync on a GPU, are skipped. Results on valid
data are identical; it is for trusted datasets only, and it is not part of the config (the cache
key does not change).

Layout: the loop in :mod:`mailviz.training.loop` (:func:`train`), run folders and trained
models in :mod:`~mailviz.training.runs`, LR schedule / precision / held-out check in
:mod:`~mailviz.training.schedule`, batches in :mod:`~mailviz.training.batches`, epoch statistics in
:mod:`~mailviz.training.stats`, RNG state in :mod:`~mailviz.training.rng`, run locks in
:mod:`~mailviz.training.locks`, checkpoints and resume in :mod:`~mailviz.training.resume`. Every
name stays importable from here (``from mailviz.train import train``).
"""

from __future__ import annotations

from mailviz.training.batches import (  # noqa: F401
    ON_DEVICE_MAX_BYTES,
    _BatchSource,
    _epoch_order,
    _IndexedBatches,
    _load_splits,
)
from mailviz.training.locks import (  # noqa: F401
    _HAVE_FLOCK,
    _discard_unfinished,
    _fcntl,
    _remove_temporaries,
    _run_lock,
)
from mailviz.training.loop import (  # noqa: F401
    SKIP_CHECKS_ENV,
    _train,
    train,
)
from mailviz.training.resume import (  # noqa: F401
    _restore,
    _save_progress,
)
from mailviz.training.rng import (  # noqa: F401
    _attack_seed,
    _plain,
    _rng_state,
    _set_rng_state,
    _tupled,
)
from mailviz.training.runs import (  # noqa: F401
    _CHECKPOINT_FORMAT,
    _FORMAT_VERSION,
    _MODEL_FORMAT,
    HISTORY_COLUMNS,
    NonFiniteLossError,
    RunBusyError,
    TrainedModel,
    TrainingError,
    _cpu_state,
    _default_cache_dir,
    _default_data_root,
    _history_frame,
    _model_from_payload,
    _place,
    _read_config_json,
    build_model_for,
    load_model_file,
    load_trained,
    run_dir,
    run_name,
)
from mailviz.training.schedule import (  # noqa: F401
    _amp_dtype,
    _autocast,
    _nat_correct,
    _use_channels_last,
    held_out_accuracy,
    lr_factor,
)
from mailviz.training.stats import (  # noqa: F401
    _diverged,
    _EpochStats,
    _say,
    _sum_dtype,
)

__all__ = [
    "TrainedModel",
    "TrainingError",
    "NonFiniteLossError",
    "RunBusyError",
    "HISTORY_COLUMNS",
    "ON_DEVICE_MAX_BYTES",
    "SKIP_CHECKS_ENV",
    "train",
    "load_trained",
    "load_model_file",
    "run_dir",
    "run_name",
    "build_model_for",
    "lr_factor",
    "held_out_accuracy",
]
