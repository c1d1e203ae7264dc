"""The restore drill's sandbox: names, isolation, roles and its schedule."""
