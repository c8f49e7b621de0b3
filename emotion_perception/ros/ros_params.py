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

from emotion_perception.io.parameters import ParamSpec, Value, check


def _descriptor(spec: ParamSpec, read_only: bool) -> ParameterDescriptor:
    """A descriptor that tells `ros2 param describe` the meaning and the range."""
    descriptor = ParameterDescriptor(description=spec.description, read_only=read_only)
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
    """Declare every spec and return the checked values; ValueError names a bad one."""
    values = {}
    for spec in specs:
        try:
            param = node.declare_parameter(spec.name, spec.default,
                                           _descriptor(spec, read_only))
        except (InvalidParameterTypeException, InvalidParameterValueException) as exc:
            raise ValueError(f'parameter {spec.name}: {exc}') from exc
        values[spec.name] = check(spec, param.value)
    return values


def changes(params: list[Parameter], specs: Iterable[ParamSpec]) -> dict[str, Value]:
    """The {name: value} of a set-parameters request that concern `specs`, checked."""
    by_name = {s.name: s for s in specs}
    return {p.name: check(by_name[p.name], p.value) for p in params if p.name in by_name}


def rejected(exc: Exception) -> SetParametersResult:
    """The answer to a set-parameters request that failed validation."""
    return SetParametersResult(successful=False, reason=str(exc))
