"""Package discovery for setuptools; everything else is in pyproject.toml.

pyproject.toml cannot both discover packages and map an extra one, so this file does both: every
`affect_live*` package is found, and the repository's top-level `models/` folder (shipped
weight bundles, model cards, licences) goes into the wheel as the data-only package
`affect_live.shipped_models`, where `affect_live/resources.py` looks for it.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["affect_live*"], exclude=["*.__pycache__"]), "affect_live.shipped_models"],
    package_dir={"affect_live.shipped_models": "models"},
)
