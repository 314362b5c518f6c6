"""`python -m moderator_app` runs the same CLI as the `moderator-app` script."""

import sys

from moderator_app.cli import main

sys.exit(main())
