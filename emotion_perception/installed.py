"""Where the package's own files are: the checkout's, else the installed ROS share's.

A checkout (`make run`, tests) reads config/ and models/ beside the package; a colcon or
pip install finds them in `share/emotion_perception`, through the ament index. The one
place that knows this, for the ROS side and the ROS-free side alike (the ament index is
plain Python, no rclpy).
"""

from pathlib import Path

PACKAGE = 'emotion_perception'
CHECKOUT = Path(__file__).resolve().parents[1]


def share_dir(kind: str) -> Path:
    """The checkout's `kind` folder (config, models) if there is one, else the share's.

    Without an ament index (a plain pip install), the checkout's path is returned, and the
    caller says which file is missing there.
    """
    checkout = CHECKOUT / kind
    if checkout.is_dir():
        return checkout
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PACKAGE)) / kind
    except (ImportError, LookupError):
        return checkout


def config_file(name: str) -> Path:
    """A file of config/ (params.yaml, fastdds.xml)."""
    return share_dir('config') / name


def default_params_file() -> Path:
    """The nodes' parameters: config/params.yaml."""
    return config_file('params.yaml')
