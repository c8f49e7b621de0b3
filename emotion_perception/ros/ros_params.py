"""Declare parameters from ParamSpec tables: description, range and validation in one go."""

from typing import Iterable

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node
from rclpy.parameter import Parameter

from emotion_perception.io.parameters import ParamSpec, Value, check, unknown_parameters


def _descriptor(spec: ParamSpec, read_only: bool) -> ParameterDescriptor:
    """A descriptor that tells `ros2 param describe` the meaning and the range.

    Typing is dynamic so that rclpy does not refuse a wrong type with its own terse
    "expected '2' got '3'": our callbacks check the type and say so in words.
    """
    descriptor = ParameterDescriptor(description=spec.description, read_only=read_only,
                                     dynamic_typing=True)
    if spec.choices:
        descriptor.additional_constraints = f'one of: {", ".join(spec.choices)}'
    if spec.low is not None and isinstance(spec.default, float):
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(spec.low), to_value=float(spec.high), step=0.0)]
    elif spec.low is not None and isinstance(spec.default, int) \
            and not isinstance(spec.default, bool):
        descriptor.integer_range = [IntegerRange(
            from_value=int(spec.low), to_value=int(spec.high), step=0)]
    return descriptor


def declare(node: Node, specs: Iterable[ParamSpec], read_only: bool = False
            ) -> dict[str, Value]:
    """Declare every spec and return the checked values; ValueError names a bad one.

    Later changes (`ros2 param set`) are checked against the same specs: an integer for
    a float parameter is taken as that float, any other wrong type or range is refused
    with the spec's own message.
    """
    specs = {spec.name: spec for spec in specs}

    def as_declared(params: list[Parameter]) -> list[Parameter]:
        return [Parameter(p.name, value=float(p.value)) if p.name in specs
                and p.type_ == Parameter.Type.INTEGER
                and isinstance(specs[p.name].default, float) else p for p in params]

    def validate(params: list[Parameter]) -> SetParametersResult:
        try:
            changes(params, specs.values())
        except ValueError as exc:
            return rejected(exc)
        return SetParametersResult(successful=True)

    values = {}
    for spec in specs.values():
        try:
            param = node.declare_parameter(spec.name, spec.default,
                                           _descriptor(spec, read_only))
        except (InvalidParameterTypeException, InvalidParameterValueException) as exc:
            raise ValueError(f'parameter {spec.name}: {exc}') from exc
        values[spec.name] = check(spec, param.value)
    node.add_pre_set_parameters_callback(as_declared)
    node.add_on_set_parameters_callback(validate)
    return values


def changes(params: list[Parameter], specs: Iterable[ParamSpec]) -> dict[str, Value]:
    """The {name: value} of a set-parameters request that concern `specs`, checked."""
    by_name = {s.name: s for s in specs}
    return {p.name: check(by_name[p.name], p.value) for p in params if p.name in by_name}


def rejected(exc: Exception) -> SetParametersResult:
    """The answer to a set-parameters request that failed validation."""
    return SetParametersResult(successful=False, reason=str(exc))


#: Parameters every rclpy node has, or that rclpy declares itself as publishers are made.
ROS_OWN_PARAMETERS = ('use_sim_time', 'start_type_description_service')
ROS_OWN_PREFIXES = ('qos_overrides.',)


def warn_unknown(node: Node) -> None:
    """Say which given parameters (params file, launch, `-p`) the node never declared.

    rclpy keeps the overrides it was given (`Node._parameter_overrides`, set at construction
    for every rclpy release since Foxy) and ignores those nobody declares.
    """
    given = [name for name in getattr(node, '_parameter_overrides', {})
             if name not in ROS_OWN_PARAMETERS and not name.startswith(ROS_OWN_PREFIXES)]
    known = [name for name in node.get_parameters_by_prefix('')
             if name not in ROS_OWN_PARAMETERS and not name.startswith(ROS_OWN_PREFIXES)]
    for line in unknown_parameters(node.get_name(), given, known):
        node.get_logger().warning(line)
