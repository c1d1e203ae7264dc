"""Health alerts: the rules, their KQL (queries/) and the mirror-set alert."""
