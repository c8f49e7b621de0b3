"""The parameter table: one range per setting, unknown names said with the nearest known."""

import pytest

from emotion_perception.io.parameters import (
    PIPELINE_PARAMETERS,
    check,
    pipeline_config,
    unknown_parameters,
)
from emotion_perception.vision.detection import DetectorConfig
from emotion_perception.vision.pipeline_config import PipelineConfig
from emotion_perception.vision.settings import check_ranges, setting_range
from emotion_perception.vision.tracking import TrackerConfig

CONFIGS = (DetectorConfig, TrackerConfig, PipelineConfig)


def _owner(name: str) -> type:
    return next(c for c in CONFIGS if name in c.__dataclass_fields__)


@pytest.mark.parametrize('spec', [s for s in PIPELINE_PARAMETERS if s.low is not None],
                         ids=lambda s: s.name)
def test_a_parameters_range_is_its_settings_own(spec):
    config = _owner(spec.name)
    assert (spec.low, spec.high) == setting_range(config, spec.name)
    assert spec.default == getattr(config(), spec.name)
    for outside in (spec.low - 1, spec.high + 1):
        with pytest.raises(ValueError, match=spec.name):
            check(spec, type(spec.default)(outside))
        with pytest.raises(ValueError, match=f'{spec.name} must be in'):
            pipeline_config({spec.name: type(spec.default)(outside)})


def test_the_configs_refuse_what_the_table_refuses():
    with pytest.raises(ValueError, match=r'detect_every must be in \[1, 100\], got 0'):
        PipelineConfig(detect_every=0)
    with pytest.raises(ValueError, match=r'roi_face_size must be in \[32, \], got 20'):
        DetectorConfig(roi_face_size=20)
    with pytest.raises(ValueError, match='hold_frames must be in'):
        TrackerConfig(hold_frames=10, max_missed=5)
    check_ranges(PipelineConfig())  # the defaults are in range


def test_an_unknown_parameter_is_named_with_the_nearest_known_one():
    known = [s.name for s in PIPELINE_PARAMETERS]
    lines = unknown_parameters('perception', ['detect_evry', 'smoothing', 'colour'], known)
    assert lines == ['unknown parameter `colour` for perception, ignored',
                     'unknown parameter `detect_evry` for perception, ignored: did you mean '
                     '`detect_every`?']
    assert unknown_parameters('camera', ['source'], ['source', 'fps']) == []
