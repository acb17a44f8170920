"""Intake, stage orchestration and the command line; today: `inbound extract|eval|bench|demo`."""
