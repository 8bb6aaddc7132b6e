"""HubSpot webhooks: the v3 signature check, the event batch, and the spool the change sensor reads."""
