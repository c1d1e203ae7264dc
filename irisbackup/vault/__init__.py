"""The Recovery Services vault, its locks, alerts and resource guard link."""
