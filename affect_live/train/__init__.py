"""Aff-Wild2 toolkit: reader, feature cache, training, metrics, evaluation, submissions."""
