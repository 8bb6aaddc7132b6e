"""The event collector (Segment HTTP Tracking API into EVENTS_DIR) and the real-time profile API."""
