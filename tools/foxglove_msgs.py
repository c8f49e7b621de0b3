"""Write the ROS 2 interface package `foxglove_msgs` (ImageAnnotations and what it holds).

Foxglove renders `foxglove_msgs/msg/ImageAnnotations` over a live image. A ROS install
gets the package from rosdep (`ros-$ROS_DISTRO-foxglove-msgs`); the package registry has
no ROS build of it, but it has Foxglove's own schemas (`foxglove-schemas-protobuf`). This
turns their descriptors into .msg files the way Foxglove's ROS generator does (fields in
order, enums as uint8 constants, timestamps as builtin_interfaces/Time), for colcon to
build into the venv like emotion_perception_msgs.

    python tools/foxglove_msgs.py OUT_DIR
"""

import sys
from pathlib import Path

from foxglove_schemas_protobuf.ImageAnnotations_pb2 import ImageAnnotations
from google.protobuf.descriptor import Descriptor, FieldDescriptor

PACKAGE = 'foxglove_msgs'
_SCALARS = {FieldDescriptor.TYPE_DOUBLE: 'float64', FieldDescriptor.TYPE_FLOAT: 'float32',
            FieldDescriptor.TYPE_STRING: 'string', FieldDescriptor.TYPE_BOOL: 'bool',
            FieldDescriptor.TYPE_UINT32: 'uint32', FieldDescriptor.TYPE_FIXED32: 'uint32',
            FieldDescriptor.TYPE_INT32: 'int32', FieldDescriptor.TYPE_BYTES: 'uint8[]'}
_TIME = 'google.protobuf.Timestamp'
_PACKAGE_XML = f"""<?xml version="1.0"?>
<package format="3">
  <name>{PACKAGE}</name>
  <version>0.0.0</version>
  <description>Foxglove's ImageAnnotations schema as ROS 2 messages, generated from the
    foxglove-schemas-protobuf package by emotion_perception's tools/foxglove_msgs.py</description>
  <maintainer email="maintainers@emotion-perception.org">emotion_perception maintainers</maintainer>
  <license>MIT</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
  <depend>builtin_interfaces</depend>
  <exec_depend>rosidl_default_runtime</exec_depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
"""


def _field_type(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        name = field.message_type.full_name
        kind = 'builtin_interfaces/Time' if name == _TIME else \
            f'{PACKAGE}/{field.message_type.name}'
    elif field.type == FieldDescriptor.TYPE_ENUM:
        kind = 'uint8'
    else:
        kind = _SCALARS[field.type]
    repeated = field.is_repeated
    return kind + '[]' if repeated else kind


def message_definitions(root: Descriptor) -> dict[str, str]:
    """{Name: .msg text} for `root` and every Foxglove message it holds."""
    found: dict[str, str] = {}

    def visit(message: Descriptor) -> None:
        if message.name in found or message.full_name == _TIME:
            return
        lines = [f'# {PACKAGE}/msg/{message.name}',
                 '# Generated from foxglove-schemas-protobuf', '']
        for enum in message.enum_types:
            lines += [f'uint8 {value.name}={value.number}' for value in enum.values] + ['']
        lines += [f'{_field_type(field)} {field.name}' for field in message.fields]
        found[message.name] = '\n'.join(lines) + '\n'
        for field in message.fields:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                visit(field.message_type)

    visit(root)
    return found


def write_package(out: Path) -> list[str]:
    """The package's package.xml, CMakeLists.txt and msg/ under `out`; the messages' names."""
    definitions = message_definitions(ImageAnnotations.DESCRIPTOR)
    (out / 'msg').mkdir(parents=True, exist_ok=True)
    for name, text in definitions.items():
        (out / 'msg' / f'{name}.msg').write_text(text)
    (out / 'package.xml').write_text(_PACKAGE_XML)
    files = ' '.join(f'"msg/{name}.msg"' for name in sorted(definitions))
    (out / 'CMakeLists.txt').write_text(
        'cmake_minimum_required(VERSION 3.8)\n'
        f'project({PACKAGE})\n'
        'find_package(ament_cmake REQUIRED)\n'
        'find_package(builtin_interfaces REQUIRED)\n'
        'find_package(rosidl_default_generators REQUIRED)\n'
        f'rosidl_generate_interfaces(${{PROJECT_NAME}} {files}\n'
        '  DEPENDENCIES builtin_interfaces)\n'
        'ament_export_dependencies(rosidl_default_runtime)\n'
        'ament_package()\n')
    return sorted(definitions)


if __name__ == '__main__':
    print(f'{PACKAGE}: ' + ', '.join(write_package(Path(sys.argv[1]))))
