"""Every error class carries what the API and the CLI need, and codes never collide."""

from __future__ import annotations

import inspect

import pytest

from editstudio.core import errors
from editstudio.core.errors import EditStudioError, ProviderError, ProviderRateLimited


def all_error_classes() -> list[type[EditStudioError]]:
    found: list[type[EditStudioError]] = []
    pending: list[type[EditStudioError]] = [EditStudioError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


ERROR_CLASSES = all_error_classes()


def test_the_walk_finds_every_class_in_the_module() -> None:
    defined = {
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, EditStudioError) and obj.__module__ == errors.__name__
    }
    assert defined <= set(ERROR_CLASSES)
    assert len(defined) > 20


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_class_has_code_status_and_exit_code(cls: type[EditStudioError]) -> None:
    assert isinstance(cls.code, str) and cls.code.islower() and " " not in cls.code
    assert isinstance(cls.http_status, int) and 400 <= cls.http_status <= 599
    assert isinstance(cls.exit_code, int) and 1 <= cls.exit_code <= 125
    assert isinstance(cls.retryable, bool)


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in ERROR_CLASSES]
    duplicates = {code for code in codes if codes.count(code) > 1}
    assert not duplicates


def test_every_class_is_named_in_the_module_docstring_tree() -> None:
    doc = errors.__doc__ or ""
    missing = [cls.__name__ for cls in ERROR_CLASSES if cls.__name__ not in doc]
    assert not missing


def test_only_provider_side_transient_errors_are_retryable() -> None:
    retryable = {cls for cls in ERROR_CLASSES if cls.retryable}
    assert retryable
    assert all(issubclass(cls, ProviderError) for cls in retryable)


def test_to_dict_is_the_wire_shape() -> None:
    exc = errors.MissingField("erase needs mask", field="mask")
    assert exc.to_dict() == {
        "code": "missing_field",
        "message": "erase needs mask",
        "details": {"field": "mask"},
    }
    assert EditStudioError("plain").to_dict() == {"code": "editstudio_error", "message": "plain"}


def test_provider_error_keeps_its_context() -> None:
    exc = ProviderRateLimited("slow down", provider="wavespeed", status=429, retry_after_s=2.5)
    assert (exc.provider, exc.status, exc.retry_after_s) == ("wavespeed", 429, 2.5)
    assert exc.details["retry_after_s"] == 2.5
    assert exc.retryable
