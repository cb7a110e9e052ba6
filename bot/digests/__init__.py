"""What headteachers and officers are shown of their school or area: the weekly figures
(figures.py), computed from what the weekly cycle, the assessments and the headteachers'
check-ins record. A part not yet recorded shows as zero or None, never as an error.

May import: store, i18n, assessment, campaigns (calendar, content), msgs (questions).
"""
