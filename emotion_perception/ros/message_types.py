"""Message types by name, as a bag stores them ('pkg/msg/Name'), and their .msg texts."""

import importlib
import sys
from pathlib import Path


def message_class(msgtype: str) -> type:
    """The Python class of 'pkg/msg/Name'; ImportError/AttributeError if not installed."""
    package, _, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), name)


def package_msg_files(package: str) -> dict[str, str]:
    """The .msg texts of an installed package ({'pkg/msg/Name': text}).

    Found through the ament index, else (a pip-only venv, where AMENT_PREFIX_PATH is unset)
    in the environment's own share/ folder, where the message wheels and colcon put them.
    """
    from ament_index_python.packages import get_package_share_directory

    try:
        share = Path(get_package_share_directory(package))
    except (LookupError, OSError):  # PackageNotFoundError is a KeyError; no index: OSError
        share = Path(sys.prefix) / 'share' / package
    return {f'{package}/msg/{f.stem}': f.read_text() for f in sorted(share.glob('msg/*.msg'))}
