"""`python -m moderation_hub` runs the `moderation-hub` command."""

import sys

from moderation_hub.cli import main

sys.exit(main())
