"""Wheel build hook: the gettext catalogs go into the wheel compiled (.mo).

The checkout keeps only the .po files; a box reads the .mo a build made here,
so it never needs the .po parser at start.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        out = Path(tempfile.mkdtemp(prefix="linli-mo-"))
        for po in sorted(Path(self.root, "edge", "locale").glob("*/LC_MESSAGES/messages.po")):
            locale = po.parent.parent.name
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            mo = out / locale / "messages.mo"
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)
            build_data["force_include"][str(mo)] = f"edge/locale/{locale}/LC_MESSAGES/messages.mo"
