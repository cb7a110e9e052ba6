"""Who the service talks to: the roster CSV import (roster.py), phone numbers in E.164
(phones.py, with phonenumbers), their consent, kept when their own reply to an invitation
begins onboarding (consent.py; the hook for a headteacher's first call too), and jurisdictions
(jurisdiction.py: the one rule of which schools an officer, ambassador or headteacher may see).

May import: store.
"""
