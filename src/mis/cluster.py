"""The project's generic SLURM profile as the user's own ``slurm`` profile, so that the command
cluster users type, ``snakemake --profile slurm``, works from the repository root.

Snakemake looks a bare profile name up in the current directory, then in its user config folder
(``$XDG_CONFIG_HOME/snakemake``, else ``~/.config/snakemake`` on Linux), then in the site config
folder (``/etc/xdg/snakemake``); ``profiles/`` is not searched. A profile that Snakemake already
finds under that name (the user's or the site's) is never replaced or shadowed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERIC_PROFILE = REPO / "profiles" / "slurm"


def user_profile_folder() -> Path:
    """Snakemake's own user config folder, where it looks bare profile names up."""
    from snakemake.common import get_appdirs

    return Path(get_appdirs().user_config_dir)


def found_profile(name: str) -> Path | None:
    """The profile file ``snakemake --profile <name>`` would use from here, or None."""
    from snakemake.cli import get_profile_dir

    found = get_profile_dir(name)
    return None if found is None else found[1]


def install_profile(name: str = "slurm") -> tuple[Path, bool]:
    """Copy profiles/slurm to Snakemake's user config folder as ``<name>``, unless Snakemake already
    finds a profile of that name or the folder exists. Returns the profile in use and whether it
    was installed now."""
    existing = found_profile(name)
    if existing is not None:
        return existing, False
    target = user_profile_folder() / name
    if target.exists():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(GENERIC_PROFILE, target)
    return target, True
