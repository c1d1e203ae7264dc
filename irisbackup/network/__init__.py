"""The NSG egress each feature needs and the rules that declare it."""
