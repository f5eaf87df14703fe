"""The pieces of the training loop, one concern per module; :mod:`mailviz.train` is the front door.

:mod:`~mailviz.training.loop` (the loop), :mod:`~mailviz.training.runs` (run folders, trained
models), :mod:`~mailviz.training.schedule` (LR schedule, precision, held-out check),
:mod:`~mailviz.training.batches`, :mod:`~mailviz.training.stats`, :mod:`~mailviz.training.rng`,
:mod:`~mailviz.training.locks` and :mod:`~mailviz.training.resume` (checkpoints, resume).
This package imports nothing itself.
"""
