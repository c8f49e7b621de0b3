"""Repeated log lines are summarised, so weeks of churn stay in kilobytes."""



from emotion_perception.io.log_throttle import LogThrottle

STOP_NOISE = ('Traceback', 'Task was destroyed', 'Event loop is closed', 'Exception',
              'terminate called')


def test_log_throttle_keeps_a_week_of_churn_in_kilobytes():
    now = [0.0]
    said = []
    throttle = LogThrottle(said.append, clock=lambda: now[0])
    for _ in range(7 * 24 * 1800):  # a reconnect every 2 s for a week
        throttle('connections', 'Unity client 127.0.0.1:5555 connected (1 now)')
        now[0] += 2.0
    size = sum(len(line) + 40 for line in said)  # with the logger's prefix
    assert size < 20_000, f'{len(said)} lines, {size} bytes'
    assert said[3].startswith('27 more connections in the last 60 s')
    now[0] += 4000.0  # quiet for over an hour: the next one is said again
    throttle('connections', 'back')
    assert said[-1] == 'back'
