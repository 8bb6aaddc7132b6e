"""Lead handoff from marketing to sales: triggers, assignment, CRM owner and task, notification e-mails."""

from activation.handoff.run import HandoffReport, run_handoffs

__all__ = ["HandoffReport", "run_handoffs"]
