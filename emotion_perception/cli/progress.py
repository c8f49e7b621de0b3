"""Progress bars: on a terminal only, so logs and pipes stay clean."""

import sys
from typing import Optional

from tqdm import tqdm


def progress(total: Optional[int], unit: str, description: Optional[str] = None,
             leave: bool = True) -> tqdm:
    """A progress bar on a terminal (stderr), silence elsewhere."""
    return tqdm(total=total, unit=unit, desc=description, leave=leave,
                disable=not sys.stderr.isatty(), dynamic_ncols=True)
