"""The protected VM (protected item, VMSnapshotLinux extension) and the mirror member roles."""
