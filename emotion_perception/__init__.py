"""Facial expression perception for robots and Unity installations."""
