"""The command line: the argument parser (`parser.py`) and the commands behind it."""
