"""Runtime and wiring of the liaison-station hub: config, embedded services, provisioning, CLI."""
