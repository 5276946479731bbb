"""Set-up shared by the domain tests: the builders' import path and the Hypothesis profiles.

Profiles: "dev" (the default, quick) and "ci" (many examples per property), chosen with
the environment variable HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

# The tests import their builders as `domain_factories`, whatever the import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)

settings.register_profile("ci", max_examples=2500, deadline=None)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
