"""Every domain error lives in its app's errors.py, has a stable code of its own and a title a
reader can read in Indonesian; error_message is how a person reads one."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError, Conflict, error_message

APPS = ("okto88", "vehicles", "catalog", "suppliers", "workshops", "orders", "payments", "logistics", "analytics")
ROOT = Path(__file__).resolve().parents[2]
# Titles whose Indonesian text is rightly the English word; none today.
SAME_IN_BOTH_LANGUAGES: frozenset[str] = frozenset()


def errors_modules() -> list[str]:
    return [f"{app}.errors" for app in APPS if (ROOT / app / "errors.py").exists()]


def subclasses(root: type) -> list[type]:
    found, todo = [], [root]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if not cls.__module__.startswith("tests.")]


def all_errors() -> list[type[ApplicationError]]:
    for module in errors_modules():
        importlib.import_module(module)
    return subclasses(ApplicationError)


def test_every_app_with_domain_errors_has_an_errors_module():
    assert set(errors_modules()) == {f"{app}.errors" for app in APPS}


def test_no_error_class_is_defined_outside_an_errors_module():
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in info.name:
                importlib.import_module(info.name)
    elsewhere = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in subclasses(ApplicationError)
                       if not cls.__module__.endswith(".errors"))
    assert not elsewhere, elsewhere


@pytest.mark.parametrize("module", errors_modules())
def test_an_errors_module_imports_nothing_of_ours_but_okto88_errors(module):
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    ours = {name for name in imported if name.split(".")[0] in APPS}
    assert ours <= {"okto88.errors"} - {module}, ours
    django_modules = {name for name in imported if name.startswith("django")}
    assert django_modules <= {"django.utils.translation", "django.utils.functional"}, django_modules


@pytest.mark.parametrize("error", all_errors(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_error_has_a_code(error):
    assert isinstance(error.code, str) and error.code.strip() == error.code and error.code


def test_each_code_is_declared_by_one_class_and_shared_only_by_its_subclasses():
    declared: dict[str, list[type]] = {}
    for cls in all_errors():
        if "code" in vars(cls):
            declared.setdefault(cls.code, []).append(cls)
    twice = {code: [c.__qualname__ for c in classes] for code, classes in declared.items() if len(classes) > 1}
    assert not twice, twice
    for cls in all_errors():
        assert issubclass(cls, declared[cls.code][0]), f"{cls.__qualname__} has {cls.code!r} but not its class"


@pytest.mark.parametrize("error", all_errors(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_error_title_is_translatable_and_has_an_indonesian_text(error):
    assert isinstance(error.title, Promise), "mark the title with gettext_lazy"
    with translation.override("en"):
        english = str(error.title)
    with translation.override("id"):
        indonesian = str(error.title)
    assert english.strip()
    assert indonesian != english or english in SAME_IN_BOTH_LANGUAGES, f"no Indonesian entry for {english!r}"


class Refused(Conflict):
    code = "refused_for_the_test"
    title = gettext_lazy("This order can no longer be cancelled.")


class RefusedMore(Refused):
    pass


def test_error_message_is_the_title_in_the_readers_language_when_the_detail_is_plain_english():
    error = Refused("Order 42 is shipped; it cannot be cancelled.")
    with translation.override("id"):
        assert error_message(error) == "Pesanan ini tidak dapat dibatalkan lagi."
    with translation.override("en"):
        assert error_message(error) == "This order can no longer be cancelled."


def test_error_message_is_the_detail_when_the_detail_is_written_for_people():
    error = Refused(gettext_lazy("Not enough stock."))
    with translation.override("id"):
        assert error_message(error) == "Stok tidak cukup."


def test_a_wording_applies_to_its_class_and_subclasses_formatted_with_extra_and_detail():
    wording = {Refused: gettext_lazy("This VIN is not valid: %(detail)s")}
    with translation.override("id"):
        assert error_message(RefusedMore(extra={"x": 1}), wording=wording) == (
            "VIN ini tidak valid: Pesanan ini tidak dapat dibatalkan lagi.")
        assert error_message(ApplicationError(), wording=wording) == str(ApplicationError.title)
    assert error_message(Refused(extra={"pack_size": 6}), wording={Refused: "Packs of %(pack_size)s."}) == (
        "Packs of 6.")
    # A wording whose placeholder the error does not carry is shown as written, not a 500.
    assert error_message(Refused(), wording={Refused: "Packs of %(pack_size)s."}) == "Packs of %(pack_size)s."


def test_staff_read_a_plain_detail_after_the_title_and_never_twice():
    with translation.override("id"):
        assert error_message(Refused("Order 42 is shipped."), staff=True) == (
            "Pesanan ini tidak dapat dibatalkan lagi. Order 42 is shipped.")
        assert error_message(Refused(), staff=True) == "Pesanan ini tidak dapat dibatalkan lagi."
        assert error_message(Refused(gettext_lazy("Not enough stock.")), staff=True) == "Stok tidak cukup."
