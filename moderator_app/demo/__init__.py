"""The `moderator-app demo`: a seeded consultation, an embedded hub and a mail catcher.

No Qt here: the demo environment is usable from tests and from the command line without a screen;
the command module hands the prepared home directory to the workbench window.
"""
