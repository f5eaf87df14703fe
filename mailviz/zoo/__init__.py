"""Published robust models (RobustBench model zoo), wrapped for every mailviz attack and metric.

Researchers' robust checkpoints (TRADES, MART, GAIRAT, …) live in RobustBench. :func:`load`
builds one through RobustBench's own loader (``robustbench.utils.load_model``) from a local
folder and wraps it in :class:`ZooModel`, so that :mod:`mailviz.attacks` and
:mod:`mailviz.evaluate` use it exactly like a model trained here::

    f_zoo(x) = logits of net(x),   x ∈ [0, 1]^{B×3×H×W}

RobustBench models take inputs in [0, 1] and normalise internally (``(x − μ)/σ`` is a layer of
the network), which is the mailviz convention, so the wrapper adds no preprocessing: it only
returns plain logits ``[B, classes]`` (a tuple or ``.logits`` output is reduced to its logits),
starts in eval mode and checks the input shape. ImageNet entries additionally expect the
resize/crop named in :attr:`ZooModel.preprocessing` on the data side.

Optional extra: ``pip install "mailviz[zoo]"`` (robustbench 1.1, setuptools < 81).

On-disk layout (RobustBench's own): ``<model_dir>/<dataset>/<threat_model>/<name>.pt``, where
``model_dir`` defaults to ``<data root>/robustbench`` (:func:`mailviz.paths.data_root`), e.g.
``data/robustbench/cifar10/Linf/Zhang2019Theoretically.pt``. Ensembles are stored as
``<name>.pt_m0.pt``, ``<name>.pt_m1.pt``, …; ``corruptions_3d`` models share the
``corruptions`` folder. A file is a ``torch.save``'d dict with the weights under
``"state_dict"`` (or the bare state dict); ``module.`` / ``model.`` key prefixes are stripped.

Offline by default: nothing is downloaded unless ``download=True``. :func:`load` checks the
expected files itself before RobustBench can start a Google-Drive download, and a missing file
raises one line naming the path and the call that fetches it. Entries whose weights are not
files in ``model_dir`` (timm-hosted XCiT/DeiT/AlexNet, torchvision's ``Standard_R50``) need
``download=True``: timm or torchvision then fetch them into their own caches.

Why there is an import shim: robustbench imports fra31's AutoAttack as ``autoattack``
(``from autoattack import AutoAttack``; ``from autoattack.state import EvaluationState``), but the
same code is installed from PyPI as ``pyautoattack`` (module ``pyautoattack``), which mailviz
already uses. When ``autoattack`` is not importable, :func:`_alias_autoattack` registers
``autoattack`` and its submodules in ``sys.modules`` as aliases of ``pyautoattack``'s before
robustbench is imported. Importing robustbench imports timm, gdown and requests but does not touch
the network.

Example:
    >>> from mailviz import evaluate, zoo
    >>> model = zoo.load("Zhang2019Theoretically")  # doctest: +SKIP
    >>> evaluate.evaluate(model, test, ("nat", "pgd20"), eps=8 / 255)  # doctest: +SKIP
    >>> zoo.reported_accuracy("Zhang2019Theoretically")["autoattack_acc"]
    53.08

Layout: :mod:`~mailviz.zoo.registry` (RobustBench's model lists, checkpoint paths),
:mod:`~mailviz.zoo.loading` (offline, weights-only loading, :class:`ZooModel`),
:mod:`~mailviz.zoo.reported` (the accuracies RobustBench reports). Every name is importable from
here.
"""

from __future__ import annotations

from mailviz.zoo.loading import (  # noqa: F401
    ZooModel,
    _fetch_command,
    _first_line,
    _logits,
    _read_zoo_file,
    _weights_only_robustbench,
    _WeightsOnlyTorch,
    load,
)
from mailviz.zoo.registry import (  # noqa: F401
    _AUTOATTACK_SUBMODULES,
    _INPUT_SHAPE,
    _NUM_CLASSES,
    DATASETS,
    DEFAULT_MODELS,
    THREAT_MODELS,
    ZOO_METHODS,
    _alias_autoattack,
    _canonical,
    _check_name,
    _entry,
    _hosted_elsewhere,
    _registry,
    _robustbench,
    _root,
    available_models,
    checkpoint_files,
    expected_path,
)
from mailviz.zoo.reported import (  # noqa: F401
    _ACC_FIELD,
    _CELL_MARKUP,
    _LINK,
    _TABLE_DATASETS,
    _from_json,
    _parse_eps,
    _percent,
    _readme_tables,
    _robustbench_package_dir,
    reported_accuracy,
)

__all__ = [
    "DATASETS",
    "THREAT_MODELS",
    "DEFAULT_MODELS",
    "ZOO_METHODS",
    "ZooModel",
    "available_models",
    "checkpoint_files",
    "expected_path",
    "load",
    "reported_accuracy",
]
