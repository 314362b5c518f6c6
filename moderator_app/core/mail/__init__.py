"""Refusal mails: rendering (render), message building and SMTP (smtp), the durable outbox (outbox).

The mail is the author's statement of reasons (DSA Art. 17): what was refused, the facts, the
charter clause relied on, whether automated checks played a part, how to contest, and an
invitation to rewrite.
"""
