"""Write the .meta files Unity needs for the package in unity/ (run after adding a file).

A package installed from a git URL is read-only to Unity, and Unity ignores any asset in
it that has no .meta file. GUIDs are derived from the path, so running this again changes
nothing; test_unity_client.py checks every file and folder has its .meta.
"""

import hashlib
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / 'unity' / 'com.emotionperception.client'

TAIL = 'userData: \n  assetBundleName: \n  assetBundleVariant: \n'
IMPORTERS = {
    '.cs': 'MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n'
           '  executionOrder: 0\n  icon: {instanceID: 0}\n  ' + TAIL,
    '.asmdef': 'AssemblyDefinitionImporter:\n  externalObjects: {}\n  ' + TAIL,
    '.json': 'PackageManifestImporter:\n  externalObjects: {}\n  ' + TAIL,
    '.md': 'TextScriptImporter:\n  externalObjects: {}\n  ' + TAIL,
    '.jslib': 'PluginImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  iconMap: {}\n'
              '  executionOrder: {}\n  defineConstraints: []\n  isPreloaded: 0\n'
              '  isOverridable: 0\n  isExplicitlyReferenced: 0\n  validateReferences: 1\n'
              '  platformData:\n  - first:\n      Any: \n    second:\n      enabled: 0\n'
              '      settings: {}\n  - first:\n      WebGL: WebGL\n    second:\n'
              '      enabled: 1\n      settings: {}\n  ' + TAIL,
}
FOLDER = 'folderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n  ' + TAIL


def meta_text(path: Path) -> str:
    """The .meta of one file or folder, its GUID a hash of its path in the package."""
    guid = hashlib.md5(path.relative_to(PACKAGE).as_posix().encode()).hexdigest()
    body = FOLDER if path.is_dir() else IMPORTERS[path.suffix]
    return f'fileFormatVersion: 2\nguid: {guid}\n{body}'


def assets(root: Path = PACKAGE):
    """Files and folders Unity imports (not .meta files, not `Samples~`-style folders)."""
    for path in sorted(root.rglob('*')):
        parts = path.relative_to(root).parts
        if path.suffix == '.meta' or any(p.endswith('~') or p.startswith('.') for p in parts):
            continue
        yield path


def main() -> int:
    """Write every missing or outdated .meta file."""
    for path in assets():
        meta = path.with_name(path.name + '.meta')
        text = meta_text(path)
        if not meta.is_file() or meta.read_text() != text:
            meta.write_text(text)
            print(f'wrote {meta.relative_to(PACKAGE)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
