"""Opening hours: parsing, the next change, and errors that say what is wrong."""

from datetime import datetime

import pytest

from emotion_perception.io.opening_hours import OpeningHours

#: Saturday 28 November 2026, local time.
SATURDAY = datetime(2026, 11, 28)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 28) -> datetime:
    """That time of the test's Saturday (or of another day of November 2026)."""
    return SATURDAY.replace(day=day, hour=hour, minute=minute, second=second)


def test_opening_hours_and_their_next_change():
    hours = OpeningHours('Mon-Fri 09:00-18:00; Sat,Sun 10:00-16:00')
    assert not hours.is_open(at(9, 30)) and hours.is_open(at(10)) and not hours.is_open(at(16))
    assert hours.next_change(at(12)) == at(16)
    assert hours.next_change(at(17)) == at(10, day=29)  # Sunday morning
    assert hours.next_change(at(17, day=29)) == at(9, day=30)  # Monday
    night = OpeningHours('Fri 20:00-02:00')
    assert night.is_open(at(1, 59)) and not night.is_open(at(2))  # Friday night
    always = OpeningHours('')
    assert always.always and always.is_open(at(3)) and always.next_change(at(3)) is None
    assert OpeningHours('Mon-Sun 00:00-24:00').next_change(at(3)) is None


@pytest.mark.parametrize('text, message', [
    ('Mo 9-18', 'must be days and hours'), ('Xyz 09:00-18:00', 'unknown day'),
    ('Mon 25:00-26:00', 'hours are 00:00-24:00')])
def test_a_bad_schedule_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        OpeningHours(text)
