"""The weight bundle format: the manifest, output mapping, class names, priors, and reading and
checking a bundle (`reading.py`), brought-in models included. Needs no TensorFlow."""
