"""The layering of DESIGN.md §2, checked by walking every module's imports with ast."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "groovebox"
HARDWARE = {"sounddevice", "jack", "rtmidi", "gpiozero", "luma"}
REALTIME_ALLOWED = {"numpy", "groovebox.engine", "groovebox.transport"}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(*packages: str):
    for package in packages:
        yield from sorted((PACKAGE / package).rglob("*.py"))


def is_stdlib(name: str) -> bool:
    import sys
    return name.split(".")[0] in sys.stdlib_module_names


@pytest.mark.parametrize("path", list(modules("engine", "transport")), ids=lambda p: p.name)
def test_engine_and_transport_use_numpy_and_the_standard_library_only(path):
    for name in imports_of(path):
        allowed = is_stdlib(name) or any(name == a or name.startswith(a + ".") for a in REALTIME_ALLOWED)
        assert allowed, f"{path.relative_to(PACKAGE)} imports {name}"
    assert "logging" not in imports_of(path)


def test_only_hw_touches_hardware_libraries():
    for path in PACKAGE.rglob("*.py"):
        if "hw" in path.relative_to(PACKAGE).parts:
            continue
        for name in imports_of(path):
            assert name.split(".")[0] not in HARDWARE, f"{path.relative_to(PACKAGE)} imports {name}"


def test_domain_never_imports_upwards():
    upper = ("groovebox.app", "groovebox.cli", "groovebox.web", "groovebox.control", "groovebox.hw")
    for path in modules("engine", "transport", "project", "library"):
        for name in imports_of(path):
            assert not name.startswith(upper), f"{path.relative_to(PACKAGE)} imports {name}"
