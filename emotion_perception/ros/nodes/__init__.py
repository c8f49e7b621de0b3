"""The graph's nodes, one module each, every one a thin adapter around `vision` and `io`.

camera (frames in, `image_raw` out), perception (`image_raw` in, `faces` out),
unity_bridge (`faces` out to Unity, OSC and the operator page), recorder (the graph into a
bag) and hri (REP-155 topics). None imports another (checked by .importlinter).
"""
