"""ament_python package: one CLI (`emotion-perception`) plus one executable per node."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'emotion_perception'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    package_data={PACKAGE: ['io/outputs/*.html']},
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml') + glob('config/*.xml')),
        (f'share/{PACKAGE}/models', glob('models/*.hdf5') + glob('models/*.dat')
         + glob('models/*.xml') + glob('models/*.tflite') + glob('models/*.md')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='emotion_perception maintainers',
    maintainer_email='maintainers@emotion-perception.org',
    description='Facial expression perception nodes for robots and Unity installations.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'emotion-perception = emotion_perception.cli:main',
            'camera_node = emotion_perception.ros.nodes.camera:main',
            'perception_node = emotion_perception.ros.nodes.perception:main',
            'unity_bridge_node = emotion_perception.ros.nodes.unity_bridge:main',
            'recorder_node = emotion_perception.ros.nodes.recorder:main',
            'hri_node = emotion_perception.ros.nodes.hri:main',
        ],
    },
)
