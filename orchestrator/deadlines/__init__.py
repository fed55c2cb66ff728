"""Statutory deadlines: clocks per dossier and per step, pauses, warnings, re-appointment.

Conventions (DOMAIN.md, "Counting the deadline"):
- The dossier clock starts at the start of counting for its receipt (cut-off, office hours)
  and runs for the process's ``budget``; its appointment (``original_due_at``) is never
  overwritten.  A step's clock starts at its hand-over (no cut-off) for the step's ``budget``.
- While the dossier waits at an element marked ``pauseClock`` (supplement, financial
  obligation) its clock and the open steps' clocks are paused; resuming shifts their due by
  the working time that was left.  A second supplement request marks the dossier late.
- Outcome when a clock stops: early (finished on a calendar day before the due's day), on
  time (by the due), late (after it, or more than one supplement for the dossier).
"""
