"""Delivery of the freeze/thaw hook bundle (hooks/) over SSH or Run Command, and its verdict line."""
