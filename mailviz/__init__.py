"""mailviz — instance-reweighted adversarial training, explained and reproduced in notebooks.

Modules, one concept each: :mod:`~mailviz.config`, :mod:`~mailviz.data`, :mod:`~mailviz.models`,
:mod:`~mailviz.attacks`, :mod:`~mailviz.margins`, :mod:`~mailviz.weights`,
:mod:`~mailviz.objectives`, :mod:`~mailviz.train`, :mod:`~mailviz.evaluate`, :mod:`~mailviz.plots`,
:mod:`~mailviz.widgets`, :mod:`~mailviz.figures`, :mod:`~mailviz.cli`.
Import the one you need (``from mailviz import attacks``); nothing heavy is imported here.
"""

__version__ = "0.1.0"
