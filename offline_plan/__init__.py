"""Offline plan: runs the real program for a stack file under Pulumi's mock engine and renders
what it declares, for reviewers and CI. No credentials, no network, no Azure preview."""
