"""Benchmark commands (`affect-live bench ...`): never imported by `analyze` or the app."""
