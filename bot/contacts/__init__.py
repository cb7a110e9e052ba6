"""Who the service talks to: the roster CSV import (roster.py) and phone numbers in E.164
(phones.py, with phonenumbers).

May import: store.
"""
