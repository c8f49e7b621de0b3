"""A node of `run`'s graph in a process of its own: started, watched, restarted, stopped.

`run` puts the unity_bridge there. In one process with perception, which holds Python's
GIL for most of each frame (dlib's landmark fit does not release it), the bridge waited
for the GIL to serve every frame. Camera and perception stay together: images then
reach perception inside the process, where a stopped reliable image subscriber elsewhere
cannot slow them (with perception apart instead, one slowed the graph from 30 to 8-17
messages a second). The rules are the launch file's: a node that exits with code 2 (bad
configuration, said in its own error line) stops the graph; one that crashes is
restarted after a delay.
"""

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import rclpy
import yaml

from emotion_perception.io.log_throttle import LogThrottle
from emotion_perception.ros.graph import NodeEntry

#: A node's exit code for a configuration it cannot start with (setup_errors.SetupFailed).
BAD_CONFIGURATION = 2
#: Linux's prctl option that signals a child when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM if `run` dies without stopping it (SIGKILL, a crash)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the stop() path still applies
        pass


class NodeProcess:
    """One node run as `python -m <its module> --ros-args ...`, with `overrides` of `params`.

    The environment (`env`, else this process's) carries what `run` chose: ROS_DOMAIN_ID,
    the discovery range and the Fast DDS profile. The child's log lines go to this
    process's terminal.
    """

    def __init__(self, entry: NodeEntry, params: Path, overrides: Optional[dict] = None,
                 env: Optional[dict[str, str]] = None, respawn_delay: float = 2.0,
                 stop_timeout: float = 10.0) -> None:
        self.entry = entry
        self._env = env
        files = [params]
        self._overrides: Optional[Path] = None
        if overrides:
            # A second parameter file, not `-p name:=value`: YAML keeps the values' types.
            handle, name = tempfile.mkstemp(prefix=f'{entry.name}-', suffix='.yaml')
            with os.fdopen(handle, 'w') as out:
                yaml.safe_dump({entry.name: {'ros__parameters': overrides}}, out)
            self._overrides = Path(name)
            files.append(self._overrides)
        self._command = [sys.executable, '-m', entry.module, '--ros-args']
        for file in files:
            self._command += ['--params-file', str(file)]
        self._respawn_delay, self._stop_timeout = respawn_delay, stop_timeout
        self._logger = rclpy.logging.get_logger('emotion_perception')
        # A node that crashes at every start must not fill the log over weeks.
        self._say_restart = LogThrottle(self._logger.warning)
        self._process: Optional[subprocess.Popen] = None
        self._restart_at: Optional[float] = None
        #: The graph's exit code once check() said the graph must stop.
        self.outcome: Optional[int] = None
        self.start()

    def start(self) -> None:
        """Start the node's process."""
        self._process = subprocess.Popen(self._command, env=self._env,
                                         preexec_fn=_die_with_parent)
        self._restart_at = None

    def check(self) -> bool:
        """Watch the process: whether the graph must stop (then `outcome` is its exit code).

        Called from the spin loop. A crash schedules a restart; the restart happens in a
        later call once the delay has passed.
        """
        if self._restart_at is not None:
            if time.monotonic() >= self._restart_at:
                self.start()
            return False
        code = self._process.poll() if self._process else None
        if code is None:
            return False
        name = self.entry.name
        if code == BAD_CONFIGURATION:
            self._logger.info(f'{name} cannot start with this configuration (its error is '
                              f'above); stopping the graph')
        elif code == 0:
            self._logger.info(f'{name} stopped; stopping the graph')
        if code in (0, BAD_CONFIGURATION):
            self.outcome = code
            return True
        cause = f'signal {-code}' if code < 0 else f'code {code}'
        self._say_restart('restart', f'{name} ended with {cause}: restarting it in '
                                     f'{self._respawn_delay:g} s')
        self._restart_at = time.monotonic() + self._respawn_delay
        return False

    def stop(self) -> None:
        """Ask the node to stop as Ctrl-C would; kill it if it has not within the timeout."""
        process, self._restart_at = self._process, None
        if self._overrides is not None:
            self._overrides.unlink(missing_ok=True)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=self._stop_timeout)
        except subprocess.TimeoutExpired:
            self._logger.warning(f'{self.entry.name} did not stop within '
                                 f'{self._stop_timeout:g} s: killing it')
            process.kill()
            process.wait()
