"""The perception parameters: one table for the ROS node, the YAML file and the CLI."""

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import yaml

from emotion_perception.vision.detection import DetectorConfig
from emotion_perception.vision.model_store import CLASSIFIERS, DEFAULT_CLASSIFIER
from emotion_perception.vision.pipeline_config import PipelineConfig
from emotion_perception.vision.settings import setting_range
from emotion_perception.vision.tracking import TrackerConfig

Value = Union[bool, int, float, str]
#: How a parameter's type is named in error messages.
KIND_NAMES = {bool: 'true or false', int: 'an integer', float: 'a number', str: 'a string'}


@dataclass(frozen=True)
class ParamSpec:
    """A parameter: its name, default, meaning and allowed range."""

    name: str
    default: Value
    description: str
    low: Optional[float] = None
    high: Optional[float] = None
    #: For strings: the values allowed (empty = any).
    choices: tuple[str, ...] = ()


_PIPE = PipelineConfig()


def _ranged(config: type, name: str, description: str) -> ParamSpec:
    """The parameter of a vision setting: its default and its range are the setting's own."""
    return ParamSpec(name, getattr(config(), name), description, *setting_range(config, name))


#: Parameters that map onto PipelineConfig; all may change while the node runs.
PIPELINE_PARAMETERS = (
    _ranged(DetectorConfig, 'scale_factor', 'Haar scaleFactor: image pyramid step'),
    _ranged(DetectorConfig, 'min_neighbors', 'Haar minNeighbors: higher = fewer, surer '
            'detections'),
    _ranged(DetectorConfig, 'min_size', 'Smallest face searched for, pixels'),
    _ranged(DetectorConfig, 'search_width', 'Searches for new faces run on the frame resized '
            'to at most this width, so their cost does not grow with the camera resolution'),
    _ranged(DetectorConfig, 'detect_scale', 'Whole-frame search runs on that working frame '
            'resized by this (faces under 24/detect_scale working px are missed)'),
    _ranged(PipelineConfig, 'detect_every', 'Search the whole frame every N frames on the '
            'second core, its faces joining N-1 frames later (1 = every frame, inline)'),
    _ranged(PipelineConfig, 'confirm_every', 'Between Haar confirmations known faces are '
            'followed by their landmarks; Haar confirms each every N frames (1 = Haar every '
            'frame)'),
    _ranged(PipelineConfig, 'min_similarity', 'A followed face whose look correlates less '
            'than this with its last confirmed look is confirmed at once'),
    _ranged(PipelineConfig, 'landmark_budget', 'Known faces whose landmarks dlib fits per '
            'frame (about 3 ms each); the others\' are followed by optical flow'),
    _ranged(PipelineConfig, 'classify_budget', 'Known faces the classifier scores per frame '
            '(about 2 ms each), stalest first; the others keep their smoothed scores until '
            'their turn. New faces are scored at once. 0 = every face'),
    _ranged(DetectorConfig, 'roi_margin', 'Search near a known face: box grown by this '
            'fraction per side'),
    _ranged(TrackerConfig, 'hold_frames', 'Frames a face is still reported after the '
            'detector last saw it (bridges one-frame dropouts; 0 = off)'),
    _ranged(TrackerConfig, 'max_missed', 'Frames a face may go undetected and keep its id'),
    _ranged(TrackerConfig, 'smoothing', 'Weight of past scores in the per-face moving '
            'average (0 = off)'),
    ParamSpec('landmarks', _PIPE.landmarks, 'Estimate dlib 68 landmarks and head pose'),
    ParamSpec('align', _PIPE.align, 'Level the eyes before classifying (needs landmarks)'),
    ParamSpec('flip_average', _PIPE.flip_average, 'Average each face with its mirror image '
              '(a tracked face alternates the two views frame by frame)'),
    _ranged(PipelineConfig, 'crop_margin', 'Classifier crop = the face framed as FER2013 '
            'crops are (from its landmarks, else its box), grown by this fraction per side'),
    _ranged(PipelineConfig, 'max_change', 'When more than this fraction of the frame '
            'changed, start the whole-frame search at once'),
)
PIPELINE_NAMES = frozenset(p.name for p in PIPELINE_PARAMETERS)

#: Which expression model perception loads (read once, at start).
CLASSIFIER = ParamSpec('classifier', DEFAULT_CLASSIFIER, 'Expression model: trained (this '
                       'project\'s network, models/expression_vgg.md) or fer (the original '
                       'scripts\' mini-XCEPTION, for comparison)',
                       choices=tuple(CLASSIFIERS))


#: The perception node's own parameters, read once at start (`process` reads its
#: `classifier` too).
PERCEPTION_NODE_PARAMETERS = (
    ParamSpec('models_dir', '', 'Folder holding the model files (empty = default)'),
    CLASSIFIER,
    ParamSpec('debug_image', True, 'Publish an annotated debug_image while someone subscribes'),
    ParamSpec('image_transport', 'raw', 'raw: sensor_msgs/Image on image_raw; compressed: '
              'sensor_msgs/CompressedImage (JPEG, PNG) on image_raw/compressed, as '
              'image_transport names it', choices=('raw', 'compressed')),
)


def check(spec: ParamSpec, value: Any) -> Value:
    """`value` if it fits `spec` (type and range), else ValueError saying why."""
    kind = type(spec.default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not kind:
        raise ValueError(f'{spec.name} must be {KIND_NAMES[kind]}, got {value!r}')
    if spec.low is not None and value < spec.low or spec.high is not None and value > spec.high:
        raise ValueError(f'{spec.name} must be in [{spec.low}, {spec.high}], got {value}')
    if spec.choices and value not in spec.choices:
        raise ValueError(f'{spec.name} must be one of {", ".join(spec.choices)}, got {value!r}')
    return value


def pipeline_config(values: dict[str, Any], base: PipelineConfig = PipelineConfig()
                    ) -> PipelineConfig:
    """A PipelineConfig from parameter values (checked); names not given keep `base`."""
    specs = {s.name: s for s in PIPELINE_PARAMETERS}
    unknown = set(values) - set(specs)
    if unknown:
        raise ValueError(f'unknown perception parameter(s): {", ".join(sorted(unknown))}')
    v = {name: check(specs[name], value) for name, value in values.items()}
    detector = replace(base.detector, **{k: v[k] for k in ('scale_factor', 'min_neighbors',
                       'min_size', 'search_width', 'detect_scale', 'roi_margin')
                       if k in v})
    tracker = replace(base.tracker, **{k: v[k] for k in ('max_missed', 'smoothing', 'hold_frames')
                                         if k in v})
    rest = {k: v[k] for k in ('detect_every', 'confirm_every', 'min_similarity',
                              'landmark_budget', 'classify_budget', 'landmarks',
                              'align', 'flip_average', 'crop_margin', 'max_change') if k in v}
    return replace(base, detector=detector, tracker=tracker, **rest)


def load_params_file(path: Path) -> dict[str, dict[str, Any]]:
    """{node name: parameters} from a ROS 2 parameter YAML file, with a clear error."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ValueError(f'cannot read parameter file {path}: {exc.strerror}') from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, 'problem_mark', None)
        line = f' at line {where.line + 1}' if where else ''
        raise ValueError(f'parameter file {path} is not valid YAML{line}') from exc
    if not isinstance(data, dict):
        raise ValueError(f'parameter file {path} must map node names to parameters')
    nodes = {}
    for node, body in data.items():
        params = body.get('ros__parameters') if isinstance(body, dict) else None
        if not isinstance(params, dict):
            raise ValueError(f'parameter file {path}: `{node}` needs a `ros__parameters` map')
        nodes[str(node).strip('/')] = params
    return nodes


def _key_pattern(key: str) -> re.Pattern:
    """A node-name key as a regex over 'ns/name': `*` is one name, `**` any number."""
    parts = []
    for token in key.strip('/').split('/'):
        parts.append({'**': '(?:[^/]+/)*', '*': '[^/]+/'}.get(token, re.escape(token) + '/'))
    return re.compile(''.join(parts))


def node_parameters(sections: dict[str, dict[str, Any]], name: str, namespace: str = ''
                    ) -> dict[str, Any]:
    """The parameters of node `name` in `namespace`, from `load_params_file` sections.

    A plain key (`camera`) applies to the node of that name in whatever namespace it is
    started, so `namespace:=robot1` keeps the file's values; keys with a path follow ROS 2
    (`robot1/camera`, `/**/camera`, `/**`). Matching sections merge in file order.
    """
    path = '/'.join(p for p in (*namespace.strip('/').split('/'), name) if p) + '/'
    merged: dict[str, Any] = {}
    for key, params in sections.items():
        if key == name or _key_pattern(key).fullmatch(path):
            merged.update(params)
    return merged


def unknown_parameters(node: str, given: Iterable[str], known: Iterable[str]) -> list[str]:
    """One warning line per parameter a node does not declare, naming the nearest it does.

    ROS 2 ignores such a parameter without a word, so a typo in a site's params file (or a
    setting of a newer release) would silently run on defaults.
    """
    known = sorted(set(known))
    lines = []
    for name in sorted(set(given) - set(known)):
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        lines.append(f'unknown parameter `{name}` for {node}, ignored'
                     + (f': did you mean `{near[0]}`?' if near else ''))
    return lines
