"""Access to the out-of-process stand-ins in hw-mocks/ from tests (they are scripts, not package modules)."""

import importlib.util
import sys
from pathlib import Path

HW_MOCKS = Path(__file__).resolve().parents[1] / "hw-mocks"


def load_virtual_controller_module():
    """hw-mocks/virtual_controller.py as a module (its ControllerProcess, DEVICES, ...)."""
    if "virtual_controller" not in sys.modules:
        spec = importlib.util.spec_from_file_location("virtual_controller", HW_MOCKS / "virtual_controller.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["virtual_controller"] = module
        spec.loader.exec_module(module)
    return sys.modules["virtual_controller"]
