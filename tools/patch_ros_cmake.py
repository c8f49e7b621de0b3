"""Point the ROS message wheels' exported CMake files at this venv.

The wheels hard-code the wheel build host's Python include dir and site-packages;
CMake refuses to configure a package that depends on them until they name paths that
exist. Idempotent: a file already patched has nothing left to replace.
"""

import sys
import sysconfig
from pathlib import Path

BUILD_HOST = '/opt/python/cp311-cp311'


def main() -> int:
    """Rewrite every `<venv>/share/*/cmake/*.cmake` that names the build host."""
    replacements = {
        f'{BUILD_HOST}/include/python3.11': sysconfig.get_paths()['include'],
        f'{BUILD_HOST}/lib/python3.11/site-packages': sysconfig.get_paths()['purelib'],
    }
    patched = 0
    for path in Path(sys.prefix, 'share').glob('*/cmake/*.cmake'):
        text = path.read_text()
        if BUILD_HOST not in text:
            continue
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text)
        patched += 1
    if patched:
        print(f'setup: pointed {patched} ROS CMake files at {sys.prefix}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
