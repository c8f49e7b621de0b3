"""Training the expression network (Keras on TensorFlow) and exporting it to LiteRT.

Kept apart from what runs: the nodes, `run` and `process` never import this package, nor
TensorFlow (checked by .importlinter). Only `emotion-perception train` and the conversion
of a Keras `.hdf5` into a `.tflite` at set-up come here.
"""
