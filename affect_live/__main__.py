"""`python -m affect_live`: the same as the `affect-live` command and `python main.py`."""

import sys

from affect_live.cli.parser import main

sys.exit(main())
