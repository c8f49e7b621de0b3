"""The perception algorithms: numpy images in, plain dataclasses out.

Detection (Haar) and the lagged whole-frame search, following known faces by their
landmarks, landmarks and head pose (dlib), the expression classifier (a `.tflite` run by
LiteRT), tracking, the per-frame pipeline that joins them, the result dataclasses, the expression
labels, drawing for the debug image and the model files they load.

May import: the standard library, numpy, OpenCV, dlib, LiteRT; never TensorFlow or Keras,
which only `emotion_perception.training` uses (to train, and to convert a Keras model).
Never imports `emotion_perception.io`, `emotion_perception.ros`, rclpy or any ROS message
package: everything here runs, and is tested, without ROS. (`test/test_layers.py` checks it.)
"""
