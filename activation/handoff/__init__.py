"""Lead handoff from marketing to sales: triggers, assignment, CRM owner and task, notification e-mails."""

from activation.handoff.run import HandoffReport, hand_off_leads, run_handoffs

__all__ = ["HandoffReport", "hand_off_leads", "run_handoffs"]
