"""``python -m training.corpora build --out data/corpora [--max-clips N]``."""

import sys

from training.corpora.cli import main

sys.exit(main())
