"""Reverse ETL: plan and send the difference between the warehouse's desired CRM state and the CRMs."""
