"""A Python prelude that makes the train extra's packages (and mediapipe, jax) unimportable in
a child process, as on a venv made from requirements.txt alone: `import tensorflow` there raises
ModuleNotFoundError and `importlib.util.find_spec` cannot find it. The suite's own venv has them
installed (the test command installs everything), so this is how the tests see the run time."""

ABSENT = ("tensorflow", "keras", "h5py", "tf_keras", "mediapipe", "jax", "jaxlib")
PRELUDE = "import sys\nfor _name in %r:\n    sys.modules[_name] = None\n" % (ABSENT,)
