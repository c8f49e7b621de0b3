"""rosbag2 bags read and written as serialized bytes, and the image encodings they hold.

`bags` reads whole bags with `rosbags` and cut ones with `mcap`, and writes bags;
`image_encodings` turns sensor_msgs/Image and CompressedImage data into numpy and back.
Knows neither frame sources nor outputs (checked by .importlinter).
"""
