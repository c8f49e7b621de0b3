"""The package's layering (.importlinter) holds, and the check would catch a breach."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / 'lint-imports'


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the package found under `root`, with the project's contracts."""
    return subprocess.run([str(LINT_IMPORTS), '--config', str(ROOT / '.importlinter'),
                           '--no-cache'], cwd=root, env={'PYTHONPATH': str(root)},
                          capture_output=True, text=True, timeout=120)


def test_layers_contracts_are_kept():
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Contracts: 6 kept, 0 broken.' in proc.stdout


@pytest.mark.parametrize('module, line, contract', [
    ('vision/detection.py', 'import rclpy', 'vision and io run without ROS'),
    ('io/outputs/schema.py', 'from emotion_perception_msgs.msg import FaceExpression',
     'vision and io run without ROS'),
    ('vision/tracking.py', 'from emotion_perception.io.outputs import schema',
     'imports only go down'),
    ('io/sources/camera.py', 'from emotion_perception.ros import graph',
     'imports only go down'),
    ('vision/classifier.py', 'import tensorflow', 'never import TensorFlow'),
    ('ros/main.py', 'import keras', 'never import TensorFlow'),
    ('training/loop.py', 'from emotion_perception.ros import graph', 'imports only go down'),
], ids=['vision-rclpy', 'io-messages', 'vision-imports-io', 'io-imports-ros',
        'vision-tensorflow', 'ros-keras', 'training-imports-ros'])
def test_a_forbidden_import_breaks_the_contract(tmp_path, module, line, contract):
    copy = tmp_path / 'emotion_perception'
    shutil.copytree(ROOT / 'emotion_perception', copy,
                    ignore=shutil.ignore_patterns('__pycache__'))
    target = copy / module
    target.write_text(target.read_text() + f'\n{line}  # noqa\n')
    proc = _lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    broken = [row for row in proc.stdout.splitlines() if 'BROKEN' in row]
    assert len(broken) == 1 and contract in broken[0], proc.stdout
    assert f'emotion_perception.{module[:-3].replace("/", ".")}' in proc.stdout
