"""The one exception every configuration check raises (the lowest layer: imports nothing).

:class:`ConfigError` lives here so that :mod:`mailviz.config` and :mod:`mailviz.objectives` can
both raise it without importing each other; ``mailviz.config.ConfigError`` is the same class.
"""

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the fix."""
