"""Entry point: `python main.py [command] ...` (the same as the `affect-live` console script)."""

import sys

from affect_live.cli.parser import main

if __name__ == "__main__":
    sys.exit(main())
