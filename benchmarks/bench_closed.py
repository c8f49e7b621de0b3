"""Benchmark: the graph outside its opening hours, for as long as a night's first minutes.

`emotion-perception run --source demo` with a schedule that is closed now (open one
minute a week, at another time): once it says closed, the CPU (% of one core) and resident
memory of both its processes are sampled every minute for `--minutes`. Run: `make bench`
(or `python benchmarks/bench_closed.py --minutes 10`).
"""

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from bench_page import stop_graph
from graph_cpu import cpu_seconds, rss_mb

BIN = Path(sys.executable).parent


def closed_schedule() -> str:
    """Open one minute a week, three days from now: closed for the whole measurement."""
    day = (datetime.datetime.now() + datetime.timedelta(days=3)).strftime('%a')
    return f'{day} 03:00-03:01'


def main() -> int:
    """Start the graph closed, sample it every minute, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--minutes', type=float, default=10.0)
    args = parser.parse_args()
    env = dict(os.environ, ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '80'),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    with tempfile.TemporaryDirectory(prefix='ep-closed-') as tmp:
        log = Path(tmp) / 'run.log'
        graph = subprocess.Popen([str(BIN / 'emotion-perception'), 'run', '--source', 'demo',
                                  '--unity-port', '0', '--websocket-port', '-1',
                                  '--page-port', '-1', '--schedule', closed_schedule()],
                                 env=env, stdout=open(log, 'w'), stderr=subprocess.STDOUT,
                                 start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while 'closed until' not in log.read_text():
                if time.monotonic() > deadline or graph.poll() is not None:
                    raise RuntimeError(f'the graph did not close: {log.read_text()[-500:]}')
                time.sleep(0.5)
            time.sleep(10.0)  # start-up work done
            process = psutil.Process(graph.pid)
            print(f'closed ({closed_schedule()}), `run --source demo`:')
            print('| minute | CPU, % of one core | resident memory MB |')
            print('| --- | --- | --- |')
            cpu, rss = [], []
            for minute in range(1, int(args.minutes) + 1):
                before, started = cpu_seconds(process), time.monotonic()
                time.sleep(60.0)
                cpu.append((cpu_seconds(process) - before) / (time.monotonic() - started) * 100)
                rss.append(rss_mb(process))
                print(f'| {minute} | {cpu[-1]:.1f} | {rss[-1]:.0f} |', flush=True)
            print(f'| all | {sum(cpu) / len(cpu):.1f} (max {max(cpu):.1f}) | '
                  f'{rss[0]:.0f} -> {rss[-1]:.0f} |')
        finally:
            stop_graph(graph)
    return 0


if __name__ == '__main__':
    sys.exit(main())
