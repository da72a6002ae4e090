"""Load zeroconf as the pure Python it ships, not its Cython-compiled modules.

zeroconf's wheels carry each module twice: the Python source and a Cython build of it,
which Python's import prefers. The compiled ones cost the bridge ~2.7 MB more RSS
(``bench/homekit.py``: +17.2 -> +14.5 MB over the service without Apple Home), for speed
the bridge does not need: it only reads the mDNS traffic of the interfaces it advertises on
and answers queries for itself. The source is the code zeroconf runs when built with
``SKIP_CYTHON``, so nothing changes in how it works, and no install step changes either
(the hashed lock's wheels, an offline wheelhouse, a 32-bit Pi).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

PACKAGE = "zeroconf"


class SourceFirst(importlib.abc.MetaPathFinder):
    """Find ``zeroconf`` and its modules as their ``.py`` source where one is installed.

    Only a module finder: not a PathFinder subclass, which would also list every installed
    distribution a second time to ``importlib.metadata``."""

    @classmethod
    def find_spec(
        cls,
        fullname: str,
        path: Sequence[str] | None = None,
        target: object = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """Return the source module's spec instead of a compiled module's; else None."""
        if fullname != PACKAGE and not fullname.startswith(PACKAGE + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return None  # not compiled: the usual finders load it as always
        compiled = Path(str(spec.origin))
        source = compiled.with_name(compiled.name.split(".", 1)[0] + ".py")
        if not source.is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname, source, submodule_search_locations=spec.submodule_search_locations
        )


def prefer_source() -> None:
    """Make zeroconf load from source from now on (call before it is first imported)."""
    if SourceFirst not in sys.meta_path:
        sys.meta_path.insert(0, SourceFirst)
