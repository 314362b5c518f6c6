"""The `moderator-app demo`: a seeded consultation, an embedded hub and a mail catcher.

No Qt here: the demo environment is usable from tests and from the command line without a screen;
the command module hands the prepared data directory to the workbench window.

- `seed.build_corpus(now)`: the deterministic consultation (about 840 proposals);
- `history.plan_history(...)`: what a colleague already decided before the demo starts;
- `catcher.MailCatcher`: the local SMTP server; `catcher.caught_mail_folder(home)` (None outside a
  demo), `catcher.list_caught_mails(folder)` and `catcher.read_caught_mail(path)` let the workbench
  show what an author would have received (as plain text: the HTML part is never rendered);
- `environment.DemoEnvironment(home)`: hub, catcher, login and mail settings as one context manager.
"""
