"""Pure rules of due-date alignment: no database, no Celery, no clock, no I/O.

Every function here takes today's date and every other input as arguments, so the
same inputs always give the same plan.
"""
