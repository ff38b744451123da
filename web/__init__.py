"""The public web map (static assets served by lantian.server)."""
