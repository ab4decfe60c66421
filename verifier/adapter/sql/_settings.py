"""An SQL department's settings, as the ``verifier.adapters`` entry point receives them."""

from __future__ import annotations

from collections.abc import Mapping

from verifier._errors import ConfigurationError
from verifier.adapter.sql._backend import SqlBackend
from verifier.adapter.sql._department import DEFAULT_REFRESH_CACHE_SECONDS


def backend_from_settings(
    settings: Mapping[str, object], department: str, *, extra_keys: frozenset[str] = frozenset()
) -> tuple[SqlBackend, float]:
    """The backend named by ``settings['url']`` and the refresh-cache time, keys checked.

    ``adapter`` (which entry point to use) and ``department`` (the catalogue id it is wired
    for) are the configuration's own keys and are allowed; ``extra_keys`` are the
    department's own settings (read them from ``settings`` yourself).
    """
    allowed = {"url", "adapter", "department", "refresh_cache_seconds"} | extra_keys
    for key in settings:
        if key not in allowed:
            raise ConfigurationError(
                f"departments.{department}.{key}: unknown setting "
                f"(known: {', '.join(sorted(allowed))})"
            )
    url = settings.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"departments.{department}.url: required, a SQLAlchemy URL string")
    seconds = settings.get("refresh_cache_seconds", DEFAULT_REFRESH_CACHE_SECONDS)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise ConfigurationError(
            f"departments.{department}.refresh_cache_seconds: must be a number >= 0"
        )
    return SqlBackend(url, department=department), float(seconds)
