"""Node-side publishing: the SDK, importers and the demo-city simulator."""
