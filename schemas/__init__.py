"""Event contracts of the liaison-station hub: envelope, payloads, region codes, subjects."""
