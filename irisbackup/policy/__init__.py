"""Backup policies: their properties as Azure takes them and the parity settings behind them."""
