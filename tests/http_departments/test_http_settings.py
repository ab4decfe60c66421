"""The HTTP adapter's settings: every mistake is a ConfigurationError naming its key."""

from __future__ import annotations

import pytest

from adapters.http import HttpDepartmentAdapter, create_adapter, settings_from
from verifier import ConfigurationError
from verifier.adapter import DepartmentAdapter

BASE = {"department": "housing", "url": "http://127.0.0.1:8602", "adapter": "http"}


def test_defaults() -> None:
    settings = settings_from(BASE)
    assert settings.timeout_seconds == 5.0
    assert settings.max_connections == 20
    assert settings.keepalive == 10
    assert settings_from({**BASE, "max_connections": 4}).keepalive == 4
    assert settings.facts is None
    assert not settings.uses_tls


def test_create_adapter_is_the_entry_point_factory() -> None:
    adapter = create_adapter({**BASE, "facts": ["homes_owned_in_city", "owns_no_home_in_city"]})
    assert isinstance(adapter, HttpDepartmentAdapter)
    assert isinstance(adapter, DepartmentAdapter)
    assert adapter.department == "housing"
    assert adapter.supported_facts() == {"homes_owned_in_city", "owns_no_home_in_city"}
    assert create_adapter(BASE).supported_facts() == frozenset()


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"timeout_secondz": 3}, "departments.housing.timeout_secondz: unknown setting"),
        ({"timeout_seconds": 0}, "departments.housing.timeout_seconds"),
        ({"timeout_seconds": "soon"}, "departments.housing.timeout_seconds"),
        ({"max_connections": 0}, "departments.housing.max_connections"),
        ({"max_connections": 2, "max_keepalive": 3}, "departments.housing.max_keepalive"),
        ({"headers": {"x-api-key": 42}}, "departments.housing.headers.x-api-key"),
        ({"headers": {"bad name": "v"}}, "departments.housing.headers"),
        ({"headers": {"x-key": "line\nbreak"}}, "departments.housing.headers.x-key"),
        ({"facts": "homes_owned_in_city"}, "departments.housing.facts"),
        ({"url": "ftp://127.0.0.1/"}, "departments.housing.url"),
        ({"url": "127.0.0.1:8602"}, "departments.housing.url"),
        ({"url": "http://user:secret@127.0.0.1/"}, "departments.housing.url"),
        ({"url": "http://127.0.0.1/?token=secret"}, "departments.housing.url"),
        ({"url": "http://127.0.0.1:99999/"}, "departments.housing.url"),
        ({"url": None}, "departments.housing.url"),
        ({"ca_bundle": "/ca.pem"}, "departments.housing.ca_bundle: only used with an https"),
        ({"client_cert": "/c.pem"}, "departments.housing.client_cert"),
        (
            {"url": "https://127.0.0.1/", "client_key": "/k.pem"},
            "departments.housing.client_key: needs client_cert",
        ),
        ({"headers_from_env": {"x-api-key": "NO_SUCH_VARIABLE_SET"}}, "headers_from_env.x-api-key"),
    ],
)
def test_a_bad_setting_is_named(settings: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        create_adapter({**BASE, **settings})
    assert key in str(raised.value)
    assert "secret" not in str(raised.value)


def test_the_department_is_required() -> None:
    with pytest.raises(ConfigurationError, match="department"):
        create_adapter({"url": "http://127.0.0.1:8602"})


def test_header_values_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOUSING_KEY", "secret\tvalue")
    with pytest.raises(ConfigurationError) as raised:
        create_adapter({**BASE, "headers_from_env": {"x-api-key": "HOUSING_KEY"}})
    assert "secret" not in str(raised.value)
    assert "departments.housing.headers.x-api-key" in str(raised.value)
