"""``lienthong demo``: demo agencies, a few dozen dossiers and simulated agency systems.

For a newcomer who ran ``make run``: live dossiers, a late one and an incident to look at.
Everything but the agencies and tokens goes over HTTP, as a real desk and real agency
systems would (``scenario``: which dossiers; ``agents``: the agencies' and applicants'
behaviour; ``runner``: the command).  Development mode only.
"""
