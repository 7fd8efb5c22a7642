"""``python -m installation [options]`` — the same as ``main.py run``."""

import sys

from installation.app import main

sys.exit(main())
