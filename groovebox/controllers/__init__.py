"""USB pad controllers: profiles (data), LED frames, one generic driver, hot-plug (control loop)."""

from groovebox.controllers.driver import PadDriver
from groovebox.controllers.manager import ControllerManager, match_profile
from groovebox.controllers.profile import (
           Profile,
           ProfileError,
           default_profile_dir,
           load_profiles,
)

__all__ = ["ControllerManager", "PadDriver", "Profile", "ProfileError", "default_profile_dir", "load_profiles",
           "match_profile"]
